"""What a save costs while the primary is down, and what the circuit breaker saves.

FallbackStorage runs over the local Vercel Blob server (primary) and nanio (S3, fallback), both on
loopback, with the embedded database for the location records. For each way the primary can fail
(connections refused, requests hanging, 503 answers) it times:
- the first save after the failure starts (breaker closed: the primary is tried, with its retries,
  then the save fails over to S3; every save pays this while the breaker stays closed);
- saves once the breaker is open (the primary is skipped without a request);
- a save straight to S3 alone, the floor.
Each figure is a median with its range over several runs; every first save gets fresh breakers.
The hang case uses a 2 s read timeout (production: VERCEL_BLOB_READ_TIMEOUT=30) so the run is short;
its first-save cost scales with that timeout and the retry count.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from bench.common import Stats, bench_env, free_port, manage, repeat, table, timed, wait_for_port, workdir

PAYLOAD = os.urandom(64 * 1024)
# A throwaway token the loopback server accepts; it protects nothing.
TOKEN = "vercel_blob_rw_benchstore_" + "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"
S3_KEYS = {"access": "bench-access", "secret": "bench-secret-not-real"}
HANG_READ_TIMEOUT = 2.0


def start_nanio(data_dir: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("nanio") or str(Path(sys.executable).with_name("nanio"))
    port = free_port()
    env = {**os.environ, "NANIO_ACCESS_KEY": S3_KEYS["access"], "NANIO_SECRET_KEY": S3_KEYS["secret"]}
    proc = subprocess.Popen(
        [
            *(binary, "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)),
            *("--log-level", "warning", "--no-access-log"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return proc, f"http://127.0.0.1:{port}"


def setup_django(work: Path) -> None:
    env = bench_env(work, LOG_LEVEL="error")
    manage(env, "migrate", "--noinput")
    os.environ.update(env)
    import django

    django.setup()


class Bench:
    def __init__(self, work: Path, runs: int, steady: int) -> None:
        from storage_app.vercel_blob_server import VercelBlobServer

        self.runs = runs
        self.steady = steady
        self.vercel = VercelBlobServer(token=TOKEN, access="public", data_dir=work / "vercel").start()
        self.nanio, self.s3_endpoint = start_nanio(work / "nanio")
        self.bucket = "bench-failover"
        # One client per backend for the whole run, as in a long-lived process: building a boto3
        # session costs far more than a save and is not what is measured.
        self.s3_storage = self.s3()
        self.s3_storage.connection.meta.client.create_bucket(Bucket=self.bucket)
        self._vercel_storages = {}

    def close(self) -> None:
        self.vercel.stop()
        self.nanio.terminate()
        self.nanio.wait(10)

    def s3(self):
        from storage_app.backends.s3 import S3Storage

        return S3Storage(
            bucket_name=self.bucket,
            endpoint_url=self.s3_endpoint,
            access_key=S3_KEYS["access"],
            secret_key=S3_KEYS["secret"],
        )

    def chain(self, *, read_timeout: float = 30.0):
        """A fresh FallbackStorage (fresh breakers: fail_max 3, 60 s cool-down) over Vercel Blob then S3."""
        from storage_app.backends.vercel_blob import VercelBlobStorage
        from storage_app.fallback import FallbackStorage

        if read_timeout not in self._vercel_storages:
            self._vercel_storages[read_timeout] = VercelBlobStorage(
                token=TOKEN, api_url=self.vercel.api_url, url_base=self.vercel.url_base, read_timeout=read_timeout
            )
        return FallbackStorage([("vercel", self._vercel_storages[read_timeout]), ("s3", self.s3_storage)])

    def save(self, storage) -> float:
        from django.core.files.base import ContentFile

        name = f"bench-failover/{uuid.uuid4().hex}.bin"
        seconds = timed(lambda: storage.save(name, ContentFile(PAYLOAD)))
        if storage.backend_of(name) == "vercel" and self.failing:
            raise RuntimeError("a save landed on the primary while it was failing")
        return seconds * 1000

    def scenario(self, label: str, start_fault, stop_fault, read_timeout: float = 30.0) -> list[str]:
        self.failing = True
        start_fault()
        try:
            first = Stats.of([self.save(self.chain(read_timeout=read_timeout)) for _ in range(self.runs)])
            storage = self.chain(read_timeout=read_timeout)
            while storage.backends[0].breaker.state != "open":
                self.save(storage)
            requests_before = self.vercel.request_count()
            steady = repeat(lambda: self.save(storage), self.steady)
            touched = self.vercel.request_count() - requests_before
        finally:
            stop_fault()
            self.failing = False
        return [
            label,
            first.fmt(" ms"),
            steady.fmt(" ms"),
            str(touched),
            f"{first.median - steady.median:.0f} ms",
        ]

    def run(self) -> str:
        from storage_app.fallback import FallbackStorage

        self.failing = False
        healthy_chain = self.chain()
        healthy = repeat(lambda: self.save(healthy_chain), self.steady, warmup=2)
        s3_alone = FallbackStorage([("s3", self.s3_storage)])
        straight = repeat(lambda: self.save(s3_alone), self.steady, warmup=2)
        rows = [
            self.scenario("refuses connections", self.vercel.refuse_connections, self.vercel.accept_connections),
            self.scenario(
                f"hangs (read timeout {HANG_READ_TIMEOUT:g} s)",
                lambda: self.vercel.faults.slow(60),
                self.vercel.faults.clear,
                read_timeout=HANG_READ_TIMEOUT,
            ),
            self.scenario("answers 503", lambda: self.vercel.faults.fail(503), self.vercel.faults.clear),
        ]
        header = [
            "primary (Vercel Blob)",
            "first save: tries primary, fails over",
            "save once the breaker is open",
            "requests to the primary while open",
            "saved per save",
        ]
        summary = table(
            ["reference", "save of 64 KiB"],
            [
                ["Vercel Blob healthy (primary)", healthy.fmt(" ms")],
                ["straight to S3 (the fallback alone)", straight.fmt(" ms")],
            ],
        )
        notes = (
            f"\n\nFirst saves: {self.runs} runs, each with fresh breakers; steady state: {self.steady} saves. "
            "VercelBlobStorage retries (VERCEL_BLOB_RETRIES=3) with backoff before it gives up, which is "
            "what the first save pays; the breaker (fail_max 3) then skips the primary until its cool-down."
        )
        return table(header, rows) + "\n\n" + summary + notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="first saves per fault (each with fresh breakers)")
    parser.add_argument("--steady", type=int, default=20, help="saves measured with the breaker open")
    args = parser.parse_args()
    with workdir() as work:
        setup_django(work)
        bench = Bench(work, args.runs, args.steady)
        try:
            print(bench.run())
        finally:
            bench.close()


if __name__ == "__main__":
    main()
