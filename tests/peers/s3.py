"""A real S3-compatible server for the tests: nanio on loopback, verifying SigV4 signatures.

Fixtures:
- `s3_server` (session): one nanio process shared by the run; don't stop it in a test.
- `s3_bucket` (function): a fresh, empty bucket on it; its name.
- `s3_peer` (function): an `S3Peer` (server + fresh bucket) with `.settings()` / `.env()` / `.storage()`
  / `.keys()` / `.read(key)` helpers.
- `s3_settings` (function): `s3_peer` with the AWS_* Django settings pointed at it for the test.
- `s3_storage` (function): a `storage_app.backends.s3.storage.S3Storage` on the fresh bucket.
- `s3_outage_peer` (function): an `S3Peer` on a private nanio process the test may `stop()`,
  `kill()`, `pause()` (SIGSTOP: connections are accepted by the kernel but never answered, a hung
  server), `resume()` and `restart()`; objects survive a restart (nanio keeps them on disk).

A missing nanio fails the test with the command that installs it; it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.peers.net import free_port, wait_for_port

ACCESS_KEY = "instantory-test-access"
SECRET_KEY = "instantory-test-secret-not-real"  # a throwaway key of the loopback server
REGION = "us-east-1"
INSTALL_HINT = "nanio is not installed: run `.venv/bin/pip install nanio==0.1.7` (it is in requirements-dev.txt)"


def nanio_binary() -> str:
    candidates = [Path(sys.executable).with_name("nanio"), shutil.which("nanio")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail(INSTALL_HINT)


@dataclass
class NanioServer:
    """One nanio process on 127.0.0.1; restartable on the same port and data folder."""

    data_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NANIO_")},
            "NANIO_ACCESS_KEY": ACCESS_KEY,
            "NANIO_SECRET_KEY": SECRET_KEY,
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    nanio_binary(),
                    "serve",
                    "--data-dir",
                    str(self.data_dir),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--region",
                    REGION,
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(self.port, timeout=20)
        except RuntimeError:
            self.kill()
            raise RuntimeError(f"nanio did not start on {self.endpoint}:\n{self.log()}") from None

    def __enter__(self) -> NanioServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Graceful stop (SIGTERM); connections are then refused."""
        if self.proc is None:
            return
        self.resume()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: the socket still accepts connections (kernel backlog) but nothing answers."""
        if self.running:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            self.proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        deadline = time.monotonic() + 10
        while True:  # the port can stay busy for a moment after the old process exits
            try:
                self.start()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise


@dataclass
class S3Peer:
    """A bucket on a nanio server, with the settings and clients that reach it."""

    server: NanioServer
    bucket: str

    def settings(self) -> dict[str, Any]:
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.server.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_S3_REGION_NAME": REGION,
        }

    def env(self) -> dict[str, str]:
        """The same configuration as environment variables, for manage.py / worker subprocesses."""
        return {key: str(value) for key, value in self.settings().items()}

    def storage(self, **options: Any):
        from storage_app.backends.s3.storage import S3Storage

        config = {
            "bucket_name": self.bucket,
            "endpoint_url": self.server.endpoint,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        }
        return S3Storage(**{**config, **options})

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.server.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, connect_timeout=2),
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket (straight from the server, not through the app)."""
        paginator = self.client().get_paginator("list_objects_v2")
        return sorted(
            entry["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for entry in page.get("Contents", ())
        )

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=self.bucket, Key=key, Body=data)

    def create_bucket(self) -> None:
        self.client().create_bucket(Bucket=self.bucket)


def _new_bucket(server: NanioServer) -> S3Peer:
    peer = S3Peer(server=server, bucket=f"test-{uuid.uuid4().hex[:20]}")
    peer.create_bucket()
    return peer


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[NanioServer]:
    workdir = tmp_path_factory.mktemp("nanio")
    with NanioServer(data_dir=workdir / "data", log_path=workdir / "nanio.log") as server:
        yield server


@pytest.fixture
def s3_peer(s3_server) -> S3Peer:
    if not s3_server.running:
        pytest.fail(f"the shared nanio server is down (a test must not stop it):\n{s3_server.log()}")
    return _new_bucket(s3_server)


@pytest.fixture
def s3_bucket(s3_peer) -> str:
    return s3_peer.bucket


@pytest.fixture
def s3_settings(s3_peer, settings) -> S3Peer:
    for key, value in s3_peer.settings().items():
        setattr(settings, key, value)
    return s3_peer


@pytest.fixture
def s3_storage(s3_peer):
    return s3_peer.storage()


@pytest.fixture
def s3_outage_peer(tmp_path) -> Iterator[S3Peer]:
    server = NanioServer(data_dir=tmp_path / "nanio-data", log_path=tmp_path / "nanio.log")
    server.start()
    try:
        yield _new_bucket(server)
    finally:
        server.stop()
