"""Upload and download throughput through FallbackStorage, next to the raw client on the same server.

Two chains, each measured against the client it wraps, in the same run on the same loopback server:
- FallbackStorage whose primary is VercelBlobStorage, on the project's Vercel Blob server running
  as a process of its own (`manage.py vercel_blob_server`), against `requests`: one streamed PUT
  below the storage's multipart threshold, else the multipart protocol (create, 8 MiB parts four
  at a time, complete) as the official SDKs speak it; downloads are one streamed GET.
- FallbackStorage whose primary is S3Storage, on nanio, against boto3's own `upload_fileobj` and
  `download_fileobj` with boto3's default transfer settings.

Both sides read the upload from the same file on disk and read a download to the end in 1 MiB reads,
dropping the bytes (NullSink: this VM's page cache makes writing a new 256 MiB file the noisiest step
of all); the first run of each size also downloads into a file, untimed, and compares it with the
source. Storage and raw runs are interleaved (their order swapped on
every run) so that both share the machine's noise. The storage figure includes everything a save or
an open costs in the app: the location record in PostgreSQL, the SHA-256 of the content, names.
Where a ratio falls below the target, one more storage transfer is run under py-spy (all threads,
native frames) and the top of its profile is written to docs/bench-profiles/.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import requests

from bench.common import (
    ROOT,
    Stats,
    Target,
    django_in_process,
    emit_targets,
    nanio,
    table,
    vercel_blob_process,
    workdir,
)

MiB = 1024**2
IO_CHUNK = MiB
TARGET_RATIO = 0.9
# A throwaway token the loopback server accepts; it protects nothing.
TOKEN = "vercel_blob_rw_benchthroughput_" + "4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f"
BUCKET = "bench-throughput"
DEFAULT_RUNS = {1: 9, 16: 7, 256: 5}  # 3 runs of 256 MiB left medians to this VM's noise
PROFILE_DIR = ROOT / "docs" / "bench-profiles"
VERCEL = "Vercel Blob"
S3 = "S3 (nanio)"


@dataclass
class Side:
    """One way of moving a file: upload(path) -> name, download(name, writable binary file), delete(name)."""

    upload: Callable[[Path], str]
    download: Callable[[str, BinaryIO], None]
    delete: Callable[[str], None]


class NullSink(io.RawIOBase):
    """Where a timed download goes: the bytes are counted and dropped.

    Writing 256 MiB into a new file on this VM sometimes costs more than the transfer (page-cache
    allocation and writeback stall write() at random), which is no part of either client; the
    content is checked by an untimed download into a file instead. Seekable, as a file is, so boto3
    takes the same path it takes for a file.
    """

    def __init__(self) -> None:
        super().__init__()
        self.position = 0
        self.end = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        count = memoryview(data).nbytes
        self.position += count
        self.end = max(self.end, self.position)
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.end}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position


def copy_out(source, out: BinaryIO) -> None:
    while chunk := source.read(IO_CHUNK):
        out.write(chunk)


# --- the storage side ------------------------------------------------------------------------


def storage_side(storage) -> Side:
    from django.core.files import File

    def upload(path: Path) -> str:
        with path.open("rb") as handle:
            return storage.save(f"bench/{uuid.uuid4().hex}/{path.name}", File(handle, name=path.name))

    def download(name: str, out: BinaryIO) -> None:
        with storage.open(name, "rb") as handle:
            copy_out(handle, out)

    return Side(upload, download, storage.delete)


def vercel_chain(api_url: str, url_base: str):
    from storage_app.backends.local.storage import LocalStorage
    from storage_app.backends.vercel_blob.storage import VercelBlobStorage
    from storage_app.fallback import FallbackStorage

    primary = VercelBlobStorage(token=TOKEN, api_url=api_url, url_base=url_base, access="public")
    return FallbackStorage([("vercel", primary), ("local", LocalStorage())]), primary


def s3_chain(server):
    from storage_app.backends.local.storage import LocalStorage
    from storage_app.backends.s3.storage import S3Storage
    from storage_app.fallback import FallbackStorage
    from tests.peers.s3 import ACCESS_KEY, REGION, SECRET_KEY

    primary = S3Storage(
        bucket_name=BUCKET,
        endpoint_url=server.endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region_name=REGION,
    )
    return FallbackStorage([("s3", primary), ("local", LocalStorage())]), primary


# --- the raw clients -------------------------------------------------------------------------


class RawVercel:
    """The Vercel Blob wire protocol spoken directly with requests, as the official SDKs speak it."""

    part_size = 8 * MiB  # the SDKs' part size, and the storage's default
    parts_in_flight = 4
    multipart_threshold = 8 * MiB

    def __init__(self, api_url: str, url_base: str) -> None:
        self.api_url = api_url
        self.url_base = url_base
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=self.parts_in_flight + 2)
        self.session.mount("http://", adapter)
        self.session.trust_env = False
        self.headers = {
            "authorization": f"Bearer {TOKEN}",
            "x-api-version": "12",
            "x-vercel-blob-access": "public",
            "x-add-random-suffix": "0",
            "x-allow-overwrite": "0",
            "x-content-type": "application/octet-stream",
        }

    def _api(self, method: str, suffix: str, pathname: str, data=None, **headers: str) -> dict:
        response = self.session.request(
            method,
            self.api_url + suffix,
            params={"pathname": pathname},
            headers={**self.headers, **headers},
            data=data,
            timeout=(3, 120),
        )
        response.raise_for_status()
        return response.json()

    def upload(self, path: Path) -> str:
        pathname = f"raw/{uuid.uuid4().hex}/{path.name}"
        size = path.stat().st_size
        with path.open("rb") as handle:
            if size < self.multipart_threshold:
                return self._api("PUT", "/", pathname, data=handle)["pathname"]  # streamed from the file
            created = self._api("POST", "/mpu", pathname, **{"x-mpu-action": "create"})
            ids = {"x-mpu-upload-id": created["uploadId"], "x-mpu-key": quote(created["key"], safe="~()*!.'-")}

            def part(number: int, start: int) -> dict:
                data = os.pread(handle.fileno(), self.part_size, start)
                reply = self._api(
                    "POST", "/mpu", pathname, data=data, **ids, **{"x-mpu-action": "upload"},
                    **{"x-mpu-part-number": str(number)},
                )  # fmt: skip
                return {"etag": reply["etag"], "partNumber": number}

            with concurrent.futures.ThreadPoolExecutor(self.parts_in_flight) as pool:
                starts = range(0, size, self.part_size)
                parts = list(pool.map(part, range(1, len(starts) + 1), starts))
            body = json.dumps(parts).encode()
            extra = {**ids, "x-mpu-action": "complete", "content-type": "application/json"}
            return self._api("POST", "/mpu", pathname, data=body, **extra)["pathname"]

    def download(self, pathname: str, out: BinaryIO) -> None:
        url = f"{self.url_base}/{quote(pathname, safe='/')}"
        with self.session.get(url, stream=True, headers={"accept-encoding": "identity"}, timeout=(3, 120)) as response:
            response.raise_for_status()
            for chunk in response.iter_content(IO_CHUNK):
                out.write(chunk)

    def delete(self, pathname: str) -> None:
        response = self.session.post(
            f"{self.api_url}/delete",
            headers={"authorization": f"Bearer {TOKEN}", "x-api-version": "12", "content-type": "application/json"},
            data=json.dumps({"urls": [pathname]}),
            timeout=(3, 30),
        )
        response.raise_for_status()

    def side(self) -> Side:
        return Side(self.upload, self.download, self.delete)


def raw_s3_side(server) -> Side:
    import boto3
    from botocore.config import Config

    from tests.peers.s3 import ACCESS_KEY, REGION, SECRET_KEY

    # boto3 as an application would use it: default retries and transfer settings, path-style URLs
    # because the server is on an IP address.
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}),
    )

    def upload(path: Path) -> str:
        key = f"raw/{uuid.uuid4().hex}/{path.name}"
        with path.open("rb") as handle:
            client.upload_fileobj(handle, BUCKET, key)
        return key

    def download(key: str, out: BinaryIO) -> None:
        client.download_fileobj(BUCKET, key, out)

    return Side(upload, download, lambda key: client.delete_object(Bucket=BUCKET, Key=key))


# --- measuring -------------------------------------------------------------------------------


def make_source(work: Path, size_mib: int) -> Path:
    path = work / f"source-{size_mib}MiB.bin"
    with path.open("wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MiB))  # incompressible, like the images and PDFs Instantory stores
    return path


def same_content(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as left, b.open("rb") as right:
        while True:
            x, y = left.read(IO_CHUNK), right.read(IO_CHUNK)
            if x != y:
                return False
            if not x:
                return True


@dataclass
class Pair:
    storage: list[float]
    raw: list[float]


def measure(sides: dict[str, Side], source: Path, work: Path, runs: int) -> dict[str, Pair]:
    """MiB/s of every side for upload and download, interleaved: storage then raw, raw then storage, ..."""
    size_mib = source.stat().st_size / MiB
    results = {"upload": Pair([], []), "download": Pair([], [])}
    target = work / "download.bin"
    for run in range(runs):
        order = ["storage", "raw"] if run % 2 == 0 else ["raw", "storage"]
        names: dict[str, str] = {}
        for which in order:
            os.sync()  # dirty pages of the last transfer are written back now, not during this one
            start = time.perf_counter()
            names[which] = sides[which].upload(source)
            getattr(results["upload"], which).append(size_mib / (time.perf_counter() - start))
        for which in order:
            if run == 0:
                with target.open("wb") as out:
                    sides[which].download(names[which], out)
                if not same_content(source, target):
                    raise RuntimeError(f"{which} download of {source.name} does not match what was uploaded")
                target.unlink()
            os.sync()
            sink = NullSink()
            start = time.perf_counter()
            sides[which].download(names[which], sink)
            getattr(results["download"], which).append(size_mib / (time.perf_counter() - start))
            if sink.end != source.stat().st_size:
                raise RuntimeError(f"{which} download of {source.name} gave {sink.end} bytes")
        for which in order:
            sides[which].delete(names[which])
    return results


def verdict(ratio: float) -> str:
    if ratio >= TARGET_RATIO:
        return "met"
    return f"**missed** by {TARGET_RATIO - ratio:.2f} ({(1 - ratio / TARGET_RATIO) * 100:.0f}% below)"


# --- profiling a missed target -----------------------------------------------------------------


def profile(label: str, action: Callable[[], None], seconds_hint: float) -> str | None:
    """Run `action` in a child thread of this process under py-spy; returns the profile's path (repo-relative)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        return None
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    raw = PROFILE_DIR / f"{label}.raw"
    spy = subprocess.Popen(
        [py_spy, "record", "--pid", str(os.getpid()), "--format", "raw", "--output", str(raw), "--rate", "100",
         "--threads", "--native"],
        stdout=subprocess.DEVNULL, stderr=None,
    )  # fmt: skip
    try:
        time.sleep(1.0)  # py-spy attaches
        repeats = max(1, int(3 / max(seconds_hint, 0.01)))  # about three seconds of samples
        for _ in range(repeats):
            action()
    finally:
        spy.send_signal(2)  # SIGINT: py-spy writes what it has
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(timeout=30)
    if not raw.exists():
        return None
    out = PROFILE_DIR / f"{label}.txt"
    out.write_text(summarize(raw.read_text(), label))
    raw.unlink()
    return str(out.relative_to(ROOT))


def summarize(collapsed: str, label: str, top: int = 25) -> str:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [frame for frame in stack.split(";") if frame]
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    lines = [f"py-spy profile of {label}: {total} samples at 100 Hz over all threads of the benchmark process", ""]
    lines.append(f"Top {top} by own samples (where the time is spent):")
    for frame, count in sorted(own.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {count / total * 100:5.1f}%  {frame}")
    lines.append("")
    lines.append(f"Top {top} by inclusive samples (time in the function and what it calls):")
    for frame, count in sorted(inclusive.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {count / total * 100:5.1f}%  {frame}")
    return "\n".join(lines) + "\n"


# --- what the storage adds ------------------------------------------------------------------


@dataclass
class Overheads:
    """Milliseconds FallbackStorage spends outside the transfer itself, measured on their own."""

    records_per_save: Stats  # free-name check, reservation and completion of the location record
    name_check: dict[str, Stats]  # the backend's own exists() before a save (a HEAD), per backend
    lookup_per_open: Stats  # the location record read before an open
    hash_per_save: dict[int, Stats]  # the SHA-256 of the content, per size (CPU time, on its own)

    def hash_on_path(self, backend: str, size_mib: int) -> bool:
        """Whether the save waits for the hashing: not when Vercel's parallel parts hand it to a thread."""
        return not (backend == VERCEL and size_mib * MiB >= RawVercel.multipart_threshold)

    def upload(self, backend: str, size_mib: int) -> float:
        hashing = self.hash_per_save[size_mib].median if self.hash_on_path(backend, size_mib) else 0.0
        return self.records_per_save.median + self.name_check[backend].median + hashing

    def download(self) -> float:
        return self.lookup_per_open.median


def measure_overheads(primaries: dict[str, object], sources: dict[int, Path], samples: int = 20) -> Overheads:
    from django.core.files import File

    from storage_app import locations
    from storage_app.models import StoredFile
    from storage_app.payload import Payload  # what save() sends from: the content, hashed as it is read

    def records() -> float:
        name = f"bench/overhead/{uuid.uuid4().hex}.bin"
        start = time.perf_counter()
        locations.location_taken(name)
        record = locations.location_reserve(name, "vercel")
        locations.location_finish(record, name=name, size=1, checksum="0" * 64)
        seconds = time.perf_counter() - start
        StoredFile.objects.filter(pk=record.pk).delete()
        return seconds * 1000

    def lookup() -> float:
        start = time.perf_counter()
        locations.location_get(f"bench/overhead/{uuid.uuid4().hex}.bin")
        return (time.perf_counter() - start) * 1000

    def name_check(storage) -> float:
        start = time.perf_counter()
        storage.exists(f"bench/overhead/{uuid.uuid4().hex}.bin")
        return (time.perf_counter() - start) * 1000

    def hashing(path: Path) -> float:
        """A save's reading and hashing of the content in order, less the same reading alone."""
        with path.open("rb") as handle:
            start = time.perf_counter()
            payload = Payload(File(handle, name=path.name))
            while payload.file.read(IO_CHUNK):
                pass
            payload.checksum  # noqa: B018 - the digest is final here
            payload.close()
            hashed = time.perf_counter() - start
        with path.open("rb") as handle:
            start = time.perf_counter()
            while handle.read(IO_CHUNK):
                pass
            plain = time.perf_counter() - start
        return max(hashed - plain, 0.0) * 1000

    return Overheads(
        records_per_save=Stats.of([records() for _ in range(samples)]),
        name_check={backend: Stats.of([name_check(p) for _ in range(samples)]) for backend, p in primaries.items()},
        lookup_per_open=Stats.of([lookup() for _ in range(samples)]),
        hash_per_save={size: Stats.of([hashing(path) for _ in range(3)]) for size, path in sources.items()},
    )


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Row:
    size_mib: int
    direction: str
    backend: str
    storage: Stats
    raw: Stats
    raw_client: str

    @property
    def ratio(self) -> float:
        return self.storage.median / self.raw.median

    def ms(self, stats: Stats) -> float:
        return self.size_mib / stats.median * 1000


def run(sizes: list[int], runs: int | None, profile_missed: bool) -> str:
    rows: list[Row] = []
    profiles: dict[tuple[int, str, str], str | None] = {}
    for stale in PROFILE_DIR.glob("throughput-*.txt") if profile_missed else ():
        stale.unlink()  # the profiles shown are this run's, or none
    with workdir() as work:
        django_in_process(work)
        with vercel_blob_process(work, TOKEN) as (api_url, url_base), nanio(work) as s3_server:
            vercel_storage, vercel_primary = vercel_chain(api_url, url_base)
            s3_storage, s3_primary = s3_chain(s3_server)
            s3_primary.connection.meta.client.create_bucket(Bucket=BUCKET)
            backends = {
                VERCEL: (
                    {"storage": storage_side(vercel_storage), "raw": RawVercel(api_url, url_base).side()},
                    "requests",
                ),
                S3: ({"storage": storage_side(s3_storage), "raw": raw_s3_side(s3_server)}, "boto3"),
            }
            sources = {size_mib: make_source(work, size_mib) for size_mib in sizes}
            for size_mib, source in sources.items():
                count = runs or DEFAULT_RUNS.get(size_mib, 3)
                for backend, (sides, raw_client) in backends.items():
                    for direction, pair in measure(sides, source, work, count).items():
                        rows.append(
                            Row(size_mib, direction, backend, Stats.of(pair.storage), Stats.of(pair.raw), raw_client)
                        )
            overheads = measure_overheads({VERCEL: vercel_primary, S3: s3_primary}, sources)
            if profile_missed:
                for row in rows:
                    if row.ratio < TARGET_RATIO:
                        side = backends[row.backend][0]["storage"]
                        short = "vercel" if row.backend == VERCEL else "s3"
                        label = f"throughput-{short}-{row.direction}-{row.size_mib}MiB"
                        action = profile_action(side, row.direction, sources[row.size_mib], work)
                        key = (row.size_mib, row.direction, row.backend)
                        profiles[key] = profile(label, action, row.ms(row.storage) / 1000)
    emit_targets(targets(rows, overheads, profiles))
    return report(rows, overheads, profiles)


def expected_overhead(row: Row, overheads: Overheads) -> float:
    return overheads.upload(row.backend, row.size_mib) if row.direction == "upload" else overheads.download()


def report(rows: list[Row], overheads: Overheads, profiles: dict) -> str:
    main = table(
        [
            "size",
            "direction",
            "backend",
            "FallbackStorage MiB/s: median (range, runs)",
            "raw client MiB/s, same server, same run",
            "ratio",
            f"target ≥ {TARGET_RATIO}",
        ],
        [
            [
                f"{row.size_mib} MiB",
                row.direction,
                row.backend,
                row.storage.fmt(digits=0),
                f"{row.raw.fmt(digits=0)} {row.raw_client}",
                f"{row.ratio:.2f}",
                verdict(row.ratio),
            ]
            for row in rows
        ],
    )
    costs = table(
        ["what FallbackStorage does besides the transfer", "ms: median (range, samples)"],
        [
            [
                "location record per save: free-name check, reserve, complete (two commits)",
                overheads.records_per_save.fmt(),
            ],
            *(
                [f"{backend}: the backend's own free-name check before a save (one HEAD)", stats.fmt()]
                for backend, stats in overheads.name_check.items()
            ),
            *(
                [f"SHA-256 of a {size} MiB file as it is read (CPU on the reading thread)", stats.fmt()]
                for size, stats in overheads.hash_per_save.items()
            ),
            ["location record read per open", overheads.lookup_per_open.fmt()],
        ],
    )
    gaps = table(
        ["size", "direction", "backend", "raw ms", "storage ms", "gap ms", "the costs above add ms"],
        [
            [
                f"{row.size_mib} MiB",
                row.direction,
                row.backend,
                f"{row.ms(row.raw):.0f}",
                f"{row.ms(row.storage):.0f}",
                f"{row.ms(row.storage) - row.ms(row.raw):.0f}",
                f"{expected_overhead(row, overheads):.0f}",
            ]
            for row in rows
            if row.ratio < TARGET_RATIO
        ],
    )
    parts = [
        main,
        "",
        "MiB/s = file size / wall time of the whole call: a save (location record, SHA-256, name check, transfer) "
        "or an open read to the end. Ratio = storage median / raw median. Uploads of 8 MiB and more "
        "use multipart on both sides (Vercel: 8 MiB parts, 4 in flight; S3: the storage's 5 MiB parts, 2 in "
        "flight, boto3 alone 8 MiB parts, 10 in flight).",
        "",
        "What the storage layer costs outside the transfer, measured on its own in the same run:",
        "",
        costs,
    ]
    if any(row.ratio < TARGET_RATIO for row in rows):
        parts += [
            "",
            "Rows below the target: the gap between storage and raw time next to what those costs add up to "
            "(for a save: record + name check + SHA-256 of that size where the save waits for it, that is "
            "all but Vercel's multipart uploads; for an open: the record read).",
            "",
            gaps,
        ]
    if profiles:
        parts += [
            "",
            "Profiles of the rows below the target (one more storage transfer under py-spy, all threads):",
            "",
        ]
        for (size_mib, direction, backend), path in profiles.items():
            link = f"[{Path(path).name}](bench-profiles/{Path(path).name})" if path else "py-spy is not installed"
            parts.append(f"- {backend} {direction} {size_mib} MiB: {link}")
    return "\n".join(parts)


def targets(rows: list[Row], overheads: Overheads, profiles: dict) -> list[Target]:
    from storage_app.backends.s3.storage import transfer_config

    s3_parts = transfer_config()
    found = []
    for row in rows:
        gap = row.ms(row.storage) - row.ms(row.raw)
        explained = expected_overhead(row, overheads)
        path = profiles.get((row.size_mib, row.direction, row.backend))
        if row.direction == "upload":
            hashing = overheads.hash_per_save[row.size_mib].median
            where = (
                "on the thread that sends it"
                if overheads.hash_on_path(row.backend, row.size_mib)
                else "in a thread beside the parallel parts, off the save's path"
            )
            limit = (
                f"a save hashes the content as it sends it (SHA-256 for the location record, {hashing:.0f} ms of "
                f"CPU at {row.size_mib} MiB, {where}), writes its location record in two committed "
                f"transactions ({overheads.records_per_save.median:.1f} ms) and lets the backend check the name "
                f"({overheads.name_check[row.backend].median:.1f} ms)"
            )
        else:
            limit = f"an open reads the file's location record first ({overheads.lookup_per_open.median:.1f} ms)"
        why = (
            f"{row.backend} {row.direction} of {row.size_mib} MiB takes {row.ms(row.storage):.0f} ms through "
            f"FallbackStorage against {row.ms(row.raw):.0f} ms raw, {gap:.0f} ms more; {limit}, together "
            f"{explained:.0f} ms."
        )
        if gap > explained + max(2.0, 0.2 * gap):
            why += (
                f" Those costs explain {explained:.0f} of the {gap:.0f} ms; the rest is in the transfer itself, or "
                "noise (see the range of the runs)."
            )
            if row.backend == S3 and row.direction == "upload" and row.size_mib * MiB >= s3_parts.multipart_threshold:
                why += (
                    f" In the transfer, the storage sends {s3_parts.multipart_chunksize // MiB} MiB parts "
                    f"{s3_parts.max_concurrency} at a time (storage_app/backends/s3: what keeps a big save within "
                    "the contract suite's 32 MiB of memory; 8 MiB parts measured 37.6 MiB) where boto3's defaults "
                    "send 8 MiB parts ten at a time."
                )
        if path:
            why += f" Profile: [{Path(path).name}](bench-profiles/{Path(path).name})"
            top = top_entries(ROOT / path)
            why += f", most samples in {top}." if top else "."
        found.append(
            Target(
                name=f"throughput {row.direction} {row.size_mib} MiB, {row.backend}",
                goal=f"ratio ≥ {TARGET_RATIO}",
                measured=f"{row.ratio:.2f} ({row.storage.median:.0f} vs {row.raw.median:.0f} MiB/s)",
                met=row.ratio >= TARGET_RATIO,
                shortfall=f"{TARGET_RATIO - row.ratio:.2f}",
                why="" if row.ratio >= TARGET_RATIO else why,
            )
        )
    return found


def top_entries(path: Path, count: int = 3) -> str:
    """The first `count` lines of a profile's own-time list, as 'frame (share)'."""
    lines = path.read_text().splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("Top ") and "own samples" in line) + 1
    except StopIteration:
        return ""
    entries = []
    for line in lines[start : start + count]:
        share, _, frame = line.strip().partition("  ")
        if frame:
            entries.append(f"`{frame.strip()}` {share}")
    return ", ".join(entries)


def profile_action(side: Side, direction: str, source: Path, work: Path) -> Callable[[], None]:
    if direction == "upload":
        return lambda: side.delete(side.upload(source))
    name = side.upload(source)
    return lambda: side.download(name, NullSink())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,16,256", help="file sizes in MiB, comma-separated (default 1,16,256)")
    parser.add_argument("--runs", type=int, default=None, help="runs per size (default 9, 7 and 5 for 1, 16, 256 MiB)")
    parser.add_argument("--no-profile", action="store_true", help="do not profile the rows that miss the target")
    args = parser.parse_args()
    print(run([int(size) for size in args.sizes.split(",")], args.runs, not args.no_profile))


if __name__ == "__main__":
    main()
