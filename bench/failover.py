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
import uuid
from pathlib import Path

from bench.common import Stats, Target, django_in_process, emit_targets, repeat, table, timed, workdir
from tests.peers.s3 import ACCESS_KEY, SECRET_KEY, NanioServer

PAYLOAD = os.urandom(64 * 1024)
# A throwaway token the loopback server accepts; it protects nothing.
TOKEN = "vercel_blob_rw_benchstore_" + "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"
HANG_READ_TIMEOUT = 2.0
STEADY_TARGET_MS = 5.0


class Bench:
    def __init__(self, work: Path, runs: int, steady: int) -> None:
        from devtools.vercel_blob_server import VercelBlobServer

        self.runs = runs
        self.steady = steady
        self.vercel = VercelBlobServer(token=TOKEN, access="public", data_dir=work / "vercel").start()
        self.nanio = NanioServer(data_dir=work / "nanio", log_path=work / "nanio.log")
        self.nanio.start()
        self.s3_endpoint = self.nanio.endpoint
        self.bucket = "bench-failover"
        # One client per backend for the whole run, as in a long-lived process: building a boto3
        # session costs far more than a save and is not what is measured.
        self.s3_storage = self.s3()
        self.s3_storage.connection.meta.client.create_bucket(Bucket=self.bucket)
        self._vercel_storages = {}

    def close(self) -> None:
        self.vercel.stop()
        self.nanio.stop()

    def s3(self):
        from storage_app.backends.s3.storage import S3Storage

        return S3Storage(
            bucket_name=self.bucket,
            endpoint_url=self.s3_endpoint,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
        )

    def chain(self, *, read_timeout: float = 30.0):
        """A fresh FallbackStorage (fresh breakers: fail_max 3, 60 s cool-down) over Vercel Blob then S3."""
        from storage_app.backends.vercel_blob.storage import VercelBlobStorage
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
            # Each open-breaker save is paired with a save straight to S3 at the same moment, so the
            # difference is the chain's own cost, not the machine's load between two series.
            steady_ms, straight_ms = [], []
            for _ in range(self.steady):
                steady_ms.append(self.save(storage))
                straight_ms.append(self.save(self.s3_alone))
            steady, straight = Stats.of(steady_ms), Stats.of(straight_ms)
            touched = self.vercel.request_count() - requests_before
        finally:
            stop_fault()
            self.failing = False
        self.steady_by_label[label] = (steady, straight)
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
        self.steady_by_label: dict[str, tuple[Stats, Stats]] = {}
        healthy_chain = self.chain()
        healthy = repeat(lambda: self.save(healthy_chain), self.steady, warmup=2)
        self.s3_alone = FallbackStorage([("s3", self.s3_storage)])
        straight = repeat(lambda: self.save(self.s3_alone), self.steady, warmup=2)
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
        emit_targets(
            [
                Target(
                    name=f"failover steady state, primary {label}",
                    goal=f"≤ {STEADY_TARGET_MS:g} ms over a save straight to S3",
                    measured=f"{steady.median - straight.median:+.1f} ms "
                    f"({steady.median:.1f} vs {straight.median:.1f} ms)",
                    met=steady.median - straight.median <= STEADY_TARGET_MS,
                    shortfall=f"{steady.median - straight.median - STEADY_TARGET_MS:.1f} ms",
                    why=f"with the breaker open a save costs {steady.fmt(' ms')} against {straight.fmt(' ms')} "
                    "straight to S3, with no request to the primary: the difference is the chain's own work or noise",
                )
                for label, (steady, straight) in self.steady_by_label.items()
            ]
        )
        added = table(
            ["primary", "breaker open: added over a paired save straight to S3 (medians)",
             f"target ≤ {STEADY_TARGET_MS:g} ms"],
            [
                [label, f"{steady.median - straight.median:+.1f} ms",
                 "met" if steady.median - straight.median <= STEADY_TARGET_MS
                 else f"**missed** by {steady.median - straight.median - STEADY_TARGET_MS:.1f} ms"]
                for label, (steady, straight) in self.steady_by_label.items()
            ],
        )  # fmt: skip
        return table(header, rows) + "\n\n" + summary + "\n\n" + added + notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="first saves per fault (each with fresh breakers)")
    parser.add_argument("--steady", type=int, default=20, help="saves measured with the breaker open")
    args = parser.parse_args()
    with workdir() as work:
        django_in_process(work)
        bench = Bench(work, args.runs, args.steady)
        try:
            print(bench.run())
        finally:
            bench.close()


if __name__ == "__main__":
    main()
