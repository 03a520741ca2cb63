"""A real Redis broker and a real Celery worker process, for the tests that prove the queued path.

The worker runs `celery -A instantory worker --pool=solo` with the test settings, pointed at this
pytest process's test database (INSTANTORY_TEST_DB / EMBEDDED_DB_NAME) and the same temporary and
storage folders, so what it does is visible to the test through the database and the disk.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.peers.net import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `apt-get install -y redis-server` (make test does this)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class WorkerHandle:
    broker_url: str
    env: dict[str, str]
    log_path: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self, **extra_env: str) -> subprocess.Popen:
        env = {**self.env, **extra_env}
        log = self.log_path.open("ab")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "instantory",
                "worker",
                "--pool=solo",
                "--loglevel=info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname=test-{len(self.procs)}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        self._wait_ready(proc)
        return proc

    def _wait_ready(self, proc: subprocess.Popen, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited with {proc.returncode}:\n{self.log()}")
            if "ready." in self.log():
                return
            time.sleep(0.1)
        raise RuntimeError(f"celery worker not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


@pytest.fixture
def celery_broker(redis_url, settings):
    """Point this process's Celery app at the real broker (no eager execution) for one test."""
    from instantory.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=redis_url, task_always_eager=False)
    settings.CELERY_BROKER_URL = redis_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The app and its AMQP helper cache a producer pool for the broker they first saw; drop both so the
    # next send connects to this broker (and, afterwards, the next test's).
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield redis_url
    finally:
        app.conf.update(saved)
        app._pool = None
        app.amqp._producer_pool = None


@pytest.fixture
def celery_worker_process(celery_broker, transactional_db, tmp_path, settings) -> Iterator[WorkerHandle]:
    """A factory for real worker processes sharing this test's database, broker and folders."""
    from django.db import connection

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "DJANGO_SETTINGS")) and key != "INSTANTORY_CRASH_AT"
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "instantory.settings_test",
            "CELERY_BROKER_URL": celery_broker,
            "INSTANTORY_TEST_DB": connection.settings_dict["NAME"],
            "TEMP_UPLOAD_ROOT": str(settings.TEMP_UPLOAD_ROOT),
            "LOCAL_STORAGE_ROOT": str(settings.LOCAL_STORAGE_ROOT),
            "UPLOAD_STALE_AFTER": str(settings.UPLOAD_STALE_AFTER),
            "UPLOAD_MAX_ATTEMPTS": str(settings.UPLOAD_MAX_ATTEMPTS),
        }
    )
    if connection.settings_dict["ENGINE"] == "devtools.embedded_db":
        env["EMBEDDED_DB_NAME"] = connection.settings_dict["NAME"]
    else:
        env["DATABASE_URL"] = _database_url(connection.settings_dict)
    handle = WorkerHandle(broker_url=celery_broker, env=env, log_path=tmp_path / "worker.log")
    try:
        yield handle
    finally:
        handle.stop()


def _database_url(db: dict) -> str:
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST']}{port}/{db['NAME']}"
