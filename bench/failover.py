"""What a save costs while the primary is down, and what the circuit breaker saves.

FallbackStorage runs over the local Vercel Blob server (primary) and nanio (S3, fallback), both on
loopback, with the embedded database for the location records. For each way the primary can fail
(connections refused, requests hanging, 503 answers) it times:
- the first save after the failure starts (breaker closed: the primary is tried, with its retries,
  then the save fails over to S3; every save pays this while the breaker stays closed);
- saves once the breaker is open (the primary is skipped without a request);
- a save straight to S3 alone, the floor.
Each figure is a median with its range over several runs; every first save gets fresh breakers.
Everything runs on the production defaults (VERCEL_BLOB_READ_TIMEOUT=30, VERCEL_BLOB_RETRIES=3,
STORAGE_FAILOVER_TIMEOUT=2): the primary, having a next backend, fails fast (storage_app.attempts).

Issue #19's rows, in the same run:
- first save after the primary dies against 2 x a healthy save + the connect timeout;
- a steady-state read of a file from its replica on S3 with the primary down (breaker open), paired
  with a read straight from S3;
- replication throughput (copy + read-back verification of 1 MiB files, Vercel Blob → S3);
- with the breaker state shared through Redis, the requests that reach a dead primary (answering
  503, so the server counts them) from 4 processes saving in a loop for FLEET_WINDOW seconds, against
  fail_max + one trial per reset period; and the same 4 processes without Redis, for contrast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import uuid
from pathlib import Path

from bench.common import Stats, Target, django_in_process, emit_targets, repeat, table, timed, workdir
from tests.peers.s3 import ACCESS_KEY, SECRET_KEY, NanioServer

PAYLOAD = os.urandom(64 * 1024)
# A throwaway token the loopback server accepts; it protects nothing.
TOKEN = "vercel_blob_rw_benchstore_" + "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"
STEADY_TARGET_MS = 5.0
CONNECT_TIMEOUT = 3.0  # VERCEL_BLOB_CONNECT_TIMEOUT's default
REPLICA_PAYLOAD = os.urandom(1024 * 1024)
FLEET_PROCESSES = 4
FLEET_WINDOW = 15.0
FLEET_RESET = 5.0
FLEET_FAIL_MAX = 3


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
        self.first_by_label[label] = first
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
        self.first_by_label: dict[str, Stats] = {}
        healthy_chain = self.chain()
        healthy = repeat(lambda: self.save(healthy_chain), self.steady, warmup=2)
        self.s3_alone = FallbackStorage([("s3", self.s3_storage)])
        straight = repeat(lambda: self.save(self.s3_alone), self.steady, warmup=2)
        rows = [
            self.scenario("refuses connections", self.vercel.refuse_connections, self.vercel.accept_connections),
            self.scenario("hangs", lambda: self.vercel.faults.slow(60), self.vercel.faults.clear),
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
            "The primary has a next backend, so it is not retried: a refused connection costs a refused "
            "connection, a hang STORAGE_FAILOVER_TIMEOUT (2 s), a 503 one answer; the breaker (fail_max 3) then "
            "skips the primary until its cool-down."
        )
        first_goal = 2 * healthy.median + CONNECT_TIMEOUT * 1000
        emit_targets(
            [
                Target(
                    name=f"first save after the primary dies ({label})",
                    goal=f"≤ 2 x a healthy save + the connect timeout ({first_goal:.0f} ms)",
                    measured=f"{first.median:.0f} ms",
                    met=first.median <= first_goal,
                    shortfall=f"{first.median - first_goal:.0f} ms",
                    why="a backend with a next one is not retried and waits at most STORAGE_FAILOVER_TIMEOUT",
                )
                for label, first in self.first_by_label.items()
            ]
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
        return table(header, rows) + "\n\n" + summary + "\n\n" + added + notes + "\n\n" + self.replicas()

    # --- issue #19: replicas and the fleet ---------------------------------------------------------
    def replicas(self) -> str:
        from django.core.files.base import ContentFile

        from storage_app.fallback import FallbackStorage
        from storage_app.replication import replicas_ensure

        self.chain()  # builds the Vercel Blob storage when replicas() runs alone (--replicas-only)
        vercel = self._vercel_storages[30.0]
        source = FallbackStorage([("vercel", vercel), ("s3", self.s3_storage)], replicas=1)
        names = [source.save(f"bench-replicas/{uuid.uuid4().hex}.bin", ContentFile(REPLICA_PAYLOAD)) for _ in range(8)]
        copier = FallbackStorage([("vercel", vercel), ("s3", self.s3_storage)], replicas=2)
        seconds = timed(lambda: [replicas_ensure(copier, name) for name in names])
        mib_s = len(names) * len(REPLICA_PAYLOAD) / 1024**2 / seconds

        self.vercel.refuse_connections()
        try:
            reader = FallbackStorage([("vercel", vercel), ("s3", self.s3_storage)], replicas=2)
            for name in names[:4]:  # the first reads open the breaker
                reader.open(name).read()
            assert reader.backends[0].breaker.is_open()
            replica_ms, straight_ms = [], []
            for index in range(self.steady):
                name = names[index % len(names)]
                pair = [
                    (replica_ms, lambda n=name: reader.open(n).read()),
                    (straight_ms, lambda n=name: self.s3_storage.open(n).read()),
                ]
                # Each pair in alternating order: the second read of an object finds the server's
                # caches warm, which would otherwise always favour the same side.
                for series, read in pair if index % 2 == 0 else reversed(pair):
                    series.append(timed(read) * 1000)
        finally:
            self.vercel.accept_connections()
        replica, straight = Stats.of(replica_ms), Stats.of(straight_ms)
        fleet_shared, fleet_local = self.fleet(shared=True), self.fleet(shared=False)
        allowed = FLEET_FAIL_MAX + int(FLEET_WINDOW // FLEET_RESET)
        emit_targets(
            [
                Target(
                    name="read from a replica, primary down",
                    goal=f"≤ {STEADY_TARGET_MS:g} ms over a read straight from S3",
                    measured=f"{replica.median - straight.median:+.1f} ms "
                    f"({replica.median:.1f} vs {straight.median:.1f} ms)",
                    met=replica.median - straight.median <= STEADY_TARGET_MS,
                    shortfall=f"{replica.median - straight.median - STEADY_TARGET_MS:.1f} ms",
                    why="the breaker is open: the home is skipped without a request; the rest is the record lookup",
                ),
                Target(
                    name=f"requests reaching a dead primary, {FLEET_PROCESSES} processes, shared state",
                    goal=f"≤ fail_max + one trial per reset period = {allowed}",
                    measured=str(fleet_shared),
                    met=fleet_shared <= allowed,
                    shortfall=str(fleet_shared - allowed),
                    why="failures are counted in Redis and one process claims each half-open trial",
                ),
            ]
        )
        return table(
            ["issue #19", "measured"],
            [
                ["read of 1 MiB from its replica (S3), primary refused, breaker open", replica.fmt(" ms")],
                ["read of 1 MiB straight from S3 (paired)", straight.fmt(" ms")],
                ["replication (copy + verify) Vercel Blob → S3, 8 x 1 MiB", f"{mib_s:.1f} MiB/s"],
                [
                    f"requests reaching a dead primary (503) in {FLEET_WINDOW:g} s, {FLEET_PROCESSES} processes, "
                    f"breaker state in Redis (target ≤ {allowed})",
                    str(fleet_shared),
                ],
                ["the same, each process on its own breaker (no Redis)", str(fleet_local)],
            ],
        )

    def fleet(self, *, shared: bool) -> int:
        """Requests the primary (answering 503) receives from FLEET_PROCESSES processes saving in a loop."""
        import subprocess
        import sys

        from bench.common import ROOT, bench_env

        self.vercel.faults.fail(503)
        self.vercel.reset_counts()
        env = bench_env(
            self.work,
            STORAGE_BREAKER_FAIL_MAX=str(FLEET_FAIL_MAX),
            STORAGE_BREAKER_RESET_TIMEOUT=str(FLEET_RESET),
            BENCH_VERCEL_API_URL=self.vercel.api_url,
            BENCH_VERCEL_URL_BASE=self.vercel.url_base,
            BENCH_S3_ENDPOINT=self.s3_endpoint,
            BENCH_S3_BUCKET=self.bucket,
            BENCH_FLEET_WINDOW=str(FLEET_WINDOW),
        )
        if shared:
            env["REDIS_URL"] = self.redis_url
        try:
            procs = [
                subprocess.Popen([sys.executable, "-m", "bench.failover", "--fleet-worker"], cwd=ROOT, env=env)
                for _ in range(FLEET_PROCESSES)
            ]
            for proc in procs:
                if proc.wait(timeout=FLEET_WINDOW + 120) != 0:
                    raise RuntimeError("a fleet worker failed")
            return self.vercel.request_count()
        finally:
            self.vercel.faults.clear()


def fleet_worker() -> None:
    """One process of the fleet: saves in a loop for BENCH_FLEET_WINDOW seconds through a chain whose
    breakers are shared through Redis when REDIS_URL is set."""
    import time

    import django

    django.setup()
    from django.core.files.base import ContentFile

    from storage_app.backends.s3.storage import S3Storage
    from storage_app.backends.vercel_blob.storage import VercelBlobStorage
    from storage_app.breakers import BreakerRegistry
    from storage_app.fallback import FallbackStorage

    vercel = VercelBlobStorage(
        token=TOKEN, api_url=os.environ["BENCH_VERCEL_API_URL"], url_base=os.environ["BENCH_VERCEL_URL_BASE"]
    )
    s3 = S3Storage(
        bucket_name=os.environ["BENCH_S3_BUCKET"],
        endpoint_url=os.environ["BENCH_S3_ENDPOINT"],
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
    )
    storage = FallbackStorage([("vercel", vercel), ("s3", s3)], breakers=BreakerRegistry(shared=True))
    deadline = time.monotonic() + float(os.environ["BENCH_FLEET_WINDOW"])
    while time.monotonic() < deadline:
        storage.save(f"bench-fleet/{uuid.uuid4().hex}.bin", ContentFile(b"x" * 1024))
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="first saves per fault (each with fresh breakers)")
    parser.add_argument("--steady", type=int, default=20, help="saves measured with the breaker open")
    parser.add_argument("--fleet-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--replicas-only", action="store_true", help="only issue #19's replica read, replication and fleet rows"
    )
    args = parser.parse_args()
    if args.fleet_worker:
        fleet_worker()
        return
    with workdir() as work, redis_server(work) as redis_url:
        django_in_process(work)
        bench = Bench(work, args.runs, args.steady)
        bench.work, bench.redis_url = work, redis_url
        try:
            print(bench.replicas() if args.replicas_only else bench.run())
        finally:
            bench.close()


@contextlib.contextmanager
def redis_server(work: Path):
    """A throwaway redis-server on a free port (the fleet's shared breaker state)."""
    import shutil
    import subprocess

    from tests.peers.net import free_port, wait_for_port

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
