"""The processes of Procfile.dev, each a small supervisor run as `manage.py dev_service NAME`.

A local server (blob, s3, redis) is started only when the settings point at it (a loopback endpoint
written into .env by `make run`); with real credentials in .env the line says so and idles. Each
server's pid is written to .data/run/NAME.pid. When a server stops (killed by its pid, crashed) the
supervisor says so and stays up, so honcho keeps the rest of the chain running (an outage to try
failover on); Ctrl-C (SIGINT/SIGTERM from honcho) stops the server and the supervisor.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
Say = Callable[[str], None]


def data_dir(*parts: str) -> Path:
    path = Path(settings.DATA_DIR, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_port(url: str | None) -> int | None:
    """The port of a loopback URL (a local server make run starts), else None (a real endpoint, or none)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK or parts.port is None:
        return None
    return parts.port


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


class Supervisor:
    """Runs one child; on SIGINT/SIGTERM stops it and returns; if it dies first, says so and idles."""

    def __init__(self, name: str, say: Say) -> None:
        self.name = name
        self.say = say
        self.stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.stop.set())

    def pid_file(self) -> Path:
        return data_dir("run") / f"{self.name}.pid"

    def idle(self) -> None:
        while not self.stop.wait(1.0):
            pass

    def run(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        ready: Callable[[subprocess.Popen], None] | None = None,
    ) -> None:
        # The child gets its own process group: honcho's Ctrl-C reaches us, and we stop it in order.
        proc = subprocess.Popen(argv, env=env, start_new_session=True)
        pid_file = self.pid_file()
        pid_file.write_text(f"{proc.pid}\n")
        self.say(f"{self.name}: pid {proc.pid} (in {pid_file})")
        try:
            if ready is not None:
                ready(proc)
            while not self.stop.wait(0.5):
                if proc.poll() is not None:
                    self.say(f"{self.name}: pid {proc.pid} exited ({proc.returncode}); the rest keeps running")
                    pid_file.unlink(missing_ok=True)
                    self.idle()
                    return
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            pid_file.unlink(missing_ok=True)


def manage(*args: str) -> list[str]:
    return [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]


def blob(sup: Supervisor) -> None:
    port = local_port(settings.VERCEL_BLOB_API_URL)
    if port is None or not settings.BLOB_READ_WRITE_TOKEN:
        target = urlsplit(settings.VERCEL_BLOB_API_URL).hostname if settings.BLOB_READ_WRITE_TOKEN else None
        sup.say(f"blob: no local server ({'using ' + target if target else 'Vercel Blob not configured'})")
        return sup.idle()
    sup.run(manage("vercel_blob_server", "--port", str(port), "--data-dir", str(data_dir("vercel-blob"))))


def s3(sup: Supervisor) -> None:
    port = local_port(settings.AWS_S3_ENDPOINT_URL)
    if port is None or not settings.AWS_STORAGE_BUCKET_NAME:
        sup.say(
            "s3: no local server ("
            + ("using the configured S3" if settings.AWS_STORAGE_BUCKET_NAME else "S3 not configured")
            + ")"
        )
        return sup.idle()
    nanio = shutil.which("nanio", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if nanio is None:
        sup.say("s3: nanio is not installed (pip install -r requirements-run.txt); S3 stays down")
        return sup.idle()
    env = {
        **os.environ,
        "NANIO_ACCESS_KEY": settings.AWS_ACCESS_KEY_ID or "",
        "NANIO_SECRET_KEY": settings.AWS_SECRET_ACCESS_KEY or "",
    }
    argv = [nanio, "serve", "--data-dir", str(data_dir("s3")), "--host", "127.0.0.1", "--port", str(port),
            "--region", settings.AWS_S3_REGION_NAME, "--log-level", "warning", "--no-access-log"]  # fmt: skip

    def create_bucket(proc: subprocess.Popen) -> None:
        if not wait_for_port(port, proc):
            return
        created = ensure_bucket()
        sup.say(f"s3: nanio on {settings.AWS_S3_ENDPOINT_URL}, bucket {settings.AWS_STORAGE_BUCKET_NAME} {created}")

    sup.run(argv, env=env, ready=create_bucket)


def ensure_bucket() -> str:
    """Create the configured bucket on the local server when it is missing; 'created' or 'ready'."""
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client(
        "s3",
        endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        region_name=settings.AWS_S3_REGION_NAME,
    )
    try:
        client.head_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
        return "ready"
    except ClientError:
        client.create_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
        return "created"


def redis(sup: Supervisor) -> None:
    port = local_port(settings.CELERY_BROKER_URL)
    binary = shutil.which("redis-server")
    if port is None or binary is None:
        return sup.idle()  # the worker line says how tasks run
    sup.run(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir("redis")), "--loglevel", "warning"]
    )


def db_ready_marker() -> Path:
    return data_dir("run") / "db-ready"


def wait_for_migrations(sup: Supervisor, timeout: float = 300.0) -> None:
    """Until the web line has migrated: the first start creates the embedded database, one process at a time."""
    deadline = time.monotonic() + timeout
    while not db_ready_marker().exists() and time.monotonic() < deadline and not sup.stop.is_set():
        sup.stop.wait(0.2)


def _celery(sup: Supervisor, *args: str) -> None:
    if not settings.CELERY_BROKER_URL:
        if args[0] == "worker":  # said once per run, by the worker line only
            sup.say("worker: no CELERY_BROKER_URL (redis-server not installed): tasks run in-process after commit")
        return sup.idle()
    wait_for_migrations(sup)
    if sup.stop.is_set():
        return
    sup.run([sys.executable, "-m", "celery", "-A", "instantory", *args])


def worker(sup: Supervisor) -> None:
    _celery(sup, "worker", "--loglevel=info", "--pool=solo", "--without-gossip", "--without-mingle")


def beat(sup: Supervisor) -> None:
    _celery(sup, "beat", "--loglevel=info", "--schedule", str(data_dir("run") / "celerybeat-schedule"))


def web(sup: Supervisor) -> None:
    host, port = os.environ.get("RUN_HOST", "127.0.0.1"), os.environ.get("RUN_PORT", "8000")
    db_ready_marker().unlink(missing_ok=True)
    for step in (manage("migrate", "--noinput"), manage("ensure_superuser")):
        if subprocess.run(step).returncode != 0:
            sup.say(f"web: {' '.join(step[1:])} failed")
            return sup.idle()
    db_ready_marker().touch()
    sup.run(manage("runserver", f"{host}:{port}", *os.environ.get("RUN_SERVER_ARGS", "").split()))


SERVICES: dict[str, Callable[[Supervisor], None]] = {
    "blob": blob,
    "s3": s3,
    "redis": redis,
    "worker": worker,
    "beat": beat,
    "web": web,
}
