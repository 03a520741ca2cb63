"""`make run` on a fresh copy of the checkout brings up the whole chain under honcho (Procfile.dev).

The copy has no .env and no .data: make run writes the .env (local servers' tokens and endpoints),
starts the local Vercel Blob server, nanio with its bucket, Redis + a Celery worker + beat, and the
app on an embedded PostgreSQL of its own. Then: all three backends ok; the Vercel Blob server
stopped by its pid (.data/run/blob.pid) makes health degraded while the chain keeps running, and an
upload promoted by the worker lands on S3; one SIGINT (Ctrl-C) to the process group stops it all.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from tests.peers.net import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0


def fresh_copy(target: Path) -> Path:
    """The checkout's files (tracked and new, not ignored) with their mtimes, and the shared venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        name = raw.decode()
        source = ROOT / name
        if name == ".venv" or not source.is_file() or source.is_symlink():
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(source.read_bytes())
        os.utime(destination, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns))
    (target / ".venv").symlink_to((ROOT / ".venv").resolve())
    return target


def read_env(path: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line and not line.startswith("#") and "=" in line
    )


class Chain:
    def __init__(self, checkout: Path, log: Path) -> None:
        self.checkout, self.log_path = checkout, log
        self.app_port = free_port()
        self.ports = {"RUN_BLOB_PORT": free_port(), "RUN_S3_PORT": free_port(), "RUN_REDIS_PORT": free_port()}
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        self.env = {key: os.environ[key] for key in keep if key in os.environ}
        self.env.update(DJANGO_SUPERUSER_USERNAME="runner", DJANGO_SUPERUSER_PASSWORD="run-it-all-1")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        args = [f"PORT={self.app_port}", "RUN_SERVER_ARGS=--noreload", *(f"{k}={v}" for k, v in self.ports.items())]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                ["make", "--no-print-directory", "run", *args],
                cwd=self.checkout,
                env={**self.env, "RUN_SERVER_ARGS": "--noreload"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as a terminal would give it
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"make run exited ({self.proc.returncode}):\n{self.log()}"
            log = self.log()
            if "ready." in log and "bucket instantory" in log and "Starting development server" in log:
                wait_for_port(self.app_port, timeout=10)
                return
            time.sleep(0.2)
        pytest.fail(f"make run not ready after {START_TIMEOUT} s:\n{self.log()}")

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.checkout / ".venv/bin/python"), "manage.py", *args],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.app_port}{path}"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def chain(tmp_path) -> Iterator[Chain]:
    # Not under tmp_path: as root the embedded PostgreSQL runs initdb as its own user, who must be able
    # to reach the data folder (pytest's base folder is private to root).
    base = Path(tempfile.mkdtemp(prefix="instantory-make-run-"))
    base.chmod(0o755)
    checkout = fresh_copy(base / "checkout")
    running = Chain(checkout, tmp_path / "make-run.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()
        leftovers = wait_for_exit(str(checkout), timeout=20)
        for process in leftovers:  # only processes of this test's own copy
            process.kill()
        shutil.rmtree(base, ignore_errors=True)
        assert leftovers == [], f"processes left after Ctrl-C: {[p.info['cmdline'] for p in leftovers]}"


def wait_for_exit(marker: str, timeout: float) -> list[psutil.Process]:
    """Processes whose command line names `marker`, once they are gone or `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [
            p
            for p in psutil.process_iter(["cmdline", "status"])
            if marker in " ".join(p.info["cmdline"] or []) and p.info["status"] != psutil.STATUS_ZOMBIE
        ]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def upload(chain: Chain, token: str, name: str) -> dict:
    response = requests.post(
        chain.url("/api/uploads/"),
        headers={"Authorization": f"Token {token}"},
        data={"kind": "document"},
        files={"file": (name, b"make run's whole chain, stored for real.\n", "text/plain")},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = requests.get(
            chain.url(f"/api/uploads/{response.json()['id']}/"), headers={"Authorization": f"Token {token}"}, timeout=10
        ).json()
        if row["status"] in ("complete", "error"):
            return row
        time.sleep(0.2)
    pytest.fail(f"upload not promoted by the worker in 30 s: {row}\n{chain.log()}")


@pytest.mark.timeout(240)
def test_make_run_starts_the_whole_chain_and_fails_over(chain):
    started = time.monotonic()
    chain.wait_ready()
    startup = time.monotonic() - started
    env = read_env(chain.checkout / ".env")
    assert env["STORAGE_BACKEND"] == "vercel"
    assert env["BLOB_READ_WRITE_TOKEN"].startswith("vercel_blob_rw_")
    assert env["CELERY_BROKER_URL"] == f"redis://127.0.0.1:{chain.ports['RUN_REDIS_PORT']}/0"

    assert "left out of the fallback chain" not in chain.log()  # every backend is there
    health = chain.manage("storage_health", "--json")
    assert health.returncode == 0, health.stdout + health.stderr
    report = json.loads(health.stdout)
    assert report["status"] == "healthy"
    assert {b["name"]: b["status"] for b in report["backends"]} == {"vercel": "ok", "s3": "ok", "local": "ok"}

    token = requests.post(
        chain.url("/api/auth/token/"), json={"username": "runner", "password": "run-it-all-1"}, timeout=10
    ).json()["token"]
    first = upload(chain, token, "before.txt")
    assert (first["status"], first["permanent_backend"]) == ("complete", "vercel"), first

    blob_pid = int((chain.checkout / ".data/run/blob.pid").read_text())
    os.kill(blob_pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(blob_pid) and psutil.Process(blob_pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the Vercel Blob server did not stop"
        time.sleep(0.1)

    health = chain.manage("storage_health", "--json", "--timeout", "5")
    assert health.returncode == 1, health.stdout + health.stderr
    report = json.loads(health.stdout)
    assert report["status"] == "degraded"
    assert {b["name"]: b["status"] for b in report["backends"]}["s3"] == "ok"

    second = upload(chain, token, "during-outage.txt")
    assert (second["status"], second["permanent_backend"]) == ("complete", "s3"), second
    assert chain.proc.poll() is None, "the chain stopped with the Vercel Blob server"
    print(f"make run ready in {startup:.1f} s")
