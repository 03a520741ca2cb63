# Every closure below runs inside the loop iteration that made it (interleaved() calls it at once).
# ruff: noqa: B023
"""Instantory's storage paths against the clients an application would otherwise use, on the same servers.

Every row is a ratio of medians over interleaved rounds (the two sides alternate, their order
swapped every round, so both share the machine's noise), measured in this one run:

- small saves (4 KiB, 100 KiB, 1 MiB) through FallbackStorage against the raw client of the same
  server: `requests` PUT on the project's Vercel Blob server, boto3 `put_object` on nanio (S3);
  beside them the PostgreSQL statements a save sends (each one round trip);
- uploads of 1, 16 and 256 MiB through VercelBlobStorage (used alone) and FallbackStorage[vercel]
  against Vercel's official Python SDK (`vercel-blob` 0.5.0, `put_blob` from the same file);
- downloads of 16 and 256 MiB through FallbackStorage against plain django-storages `S3Storage`
  (S3) and the SDK's `stream_blob` (Vercel Blob);
- 20 concurrent `await storage_manager.get_file(...)` in one event loop against the same 20 awaited
  one by one, while the Vercel Blob server delays every answer by 50 ms (its `slow` fault);
- end to end: `POST /api/uploads/` until the upload reads `complete` (gunicorn, a real Celery
  worker on a real Redis, promotion into Vercel Blob) against one streamed PUT of the same file.

The Vercel Blob server runs as a process of its own (`manage.py vercel_blob_server`), so its work
does not share the client's interpreter lock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from bench.common import (
    PYTHON,
    ROOT,
    Stats,
    Target,
    bench_env,
    django_in_process,
    emit_targets,
    gunicorn,
    manage,
    nanio,
    table,
    vercel_blob_process,
    workdir,
)

KiB = 1024
MiB = 1024**2
# A throwaway token the loopback server accepts; it protects nothing.
TOKEN = "vercel_blob_rw_benchclients_" + "5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
BUCKET = "bench-clients"
SMALL_SIZES = {"4 KiB": 4 * KiB, "100 KiB": 100 * KiB, "1 MiB": MiB}
SMALL_TARGETS = {"4 KiB": 0.6, "100 KiB": 0.6, "1 MiB": 0.9}
SMALL_SAVES = {"4 KiB": 40, "100 KiB": 30, "1 MiB": 15}  # saves per side per round
SDK_RUNS = {1: 9, 16: 7, 256: 5}
E2E_RUNS = {16: 7, 256: 5}
LATENCY = 0.05
CONCURRENT = 20


def interleaved(sides: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each side's figure per round; sides run in turn, their order rotated every round."""
    names = list(sides)
    figures: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        if index % 2:
            order.reverse()
        for name in order:
            figures[name].append(sides[name]())
    return figures


def ratio_target(name: str, goal: float, ours: Stats, theirs: Stats, unit: str, why: str = "") -> Target:
    ratio = ours.median / theirs.median
    return Target(
        name=name,
        goal=f"ratio ≥ {goal}",
        measured=f"{ratio:.2f} ({ours.median:.0f} vs {theirs.median:.0f} {unit})",
        met=ratio >= goal,
        shortfall=f"{goal - ratio:.2f}",
        why="" if ratio >= goal else why,
    )


def verdict(ratio: float, goal: float) -> str:
    return "met" if ratio >= goal else f"**missed** by {goal - ratio:.2f}"


# --- the storages and clients ------------------------------------------------------------------


def storages(api_url: str, url_base: str, s3_server):
    from storage_app.backends.s3.storage import S3Storage
    from storage_app.backends.vercel_blob.storage import VercelBlobStorage
    from storage_app.fallback import FallbackStorage
    from tests.peers.s3 import ACCESS_KEY, REGION, SECRET_KEY

    def vercel() -> VercelBlobStorage:
        return VercelBlobStorage(alias="vercel", token=TOKEN, api_url=api_url, url_base=url_base, access="public")

    def s3() -> S3Storage:
        return S3Storage(
            alias="s3",
            bucket_name=BUCKET,
            endpoint_url=s3_server.endpoint,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region_name=REGION,
        )

    alone = vercel()
    return {
        "vercel_alone": alone,
        "fallback_vercel": FallbackStorage([("vercel", vercel())]),
        "fallback_s3": FallbackStorage([("s3", s3())]),
        "s3_alone": s3(),
    }


def boto3_client(s3_server):
    import boto3
    from botocore.config import Config

    from tests.peers.s3 import ACCESS_KEY, REGION, SECRET_KEY

    return boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}),
    )


def plain_django_storages_s3(s3_server):
    """django-storages' own S3Storage, as configured by an application that adds nothing to it."""
    from storages.backends.s3 import S3Storage

    from tests.peers.s3 import ACCESS_KEY, REGION, SECRET_KEY

    return S3Storage(
        bucket_name=BUCKET,
        endpoint_url=s3_server.endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region_name=REGION,
        file_overwrite=False,
    )


class RawPut:
    """One streamed PUT of the Vercel Blob API with requests: the raw client of the local server."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.session = requests.Session()
        self.session.trust_env = False
        self.headers = {
            "authorization": f"Bearer {TOKEN}",
            "x-api-version": "12",
            "x-vercel-blob-access": "public",
            "x-add-random-suffix": "0",
            "x-allow-overwrite": "0",
            "x-content-type": "application/octet-stream",
        }

    def put(self, pathname: str, body: Any) -> str:
        response = self.session.put(
            f"{self.api_url}/", params={"pathname": pathname}, headers=self.headers, data=body, timeout=(3, 300)
        )
        response.raise_for_status()
        return response.json()["pathname"]


@contextlib.contextmanager
def sdk_session(api_url: str, port: int) -> Iterator[None]:
    """The official SDK configured as an application configures it: the environment, one session.

    Its downloads go to https://<store>.public.blob.vercel-storage.com, a host it insists on; an httpx
    transport sends those to the local server over plain HTTP (the Host header unchanged), as the
    SDK fidelity tests do. Everything else is the SDK's own code.
    """
    import httpx2
    from vercel.api import session
    from vercel.blob.sync import SyncBlobServiceOptions

    class BlobHostToLocal(httpx2.BaseTransport):
        def __init__(self) -> None:
            self._inner = httpx2.HTTPTransport()

        def handle_request(self, request):
            if request.url.host.endswith(".blob.vercel-storage.com"):
                request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=port)
            return self._inner.handle_request(request)

        def close(self) -> None:
            self._inner.close()

    os.environ.update({"BLOB_READ_WRITE_TOKEN": TOKEN, "VERCEL_BLOB_API_URL": api_url, "VERCEL_BLOB_RETRIES": "0"})
    for name in ("VERCEL_OIDC_TOKEN", "BLOB_STORE_ID", "VERCEL_BLOB_READ_WRITE_TOKEN"):
        os.environ.pop(name, None)
    with session(
        service_options=[SyncBlobServiceOptions()],
        httpx_client_factory=lambda: httpx2.Client(transport=BlobHostToLocal()),
    ):
        yield


def make_source(work: Path, size: int, name: str) -> Path:
    path = work / name
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(MiB, left))  # incompressible, like the images and PDFs Instantory stores
            out.write(block)
            left -= len(block)
    return path


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- small saves -------------------------------------------------------------------------------


def small_saves(stores: dict, raw_put: RawPut, s3_client, rounds: int) -> tuple[str, list[Target]]:
    from django.core.files.base import ContentFile
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows, targets = [], []
    for label, size in SMALL_SIZES.items():
        data = os.urandom(size)
        count = SMALL_SAVES[label]
        for backend, storage, raw in (
            ("Vercel Blob", stores["fallback_vercel"], lambda name: raw_put.put(name, data)),
            ("S3 (nanio)", stores["fallback_s3"], lambda key: s3_client.put_object(Bucket=BUCKET, Key=key, Body=data)),
        ):
            saved: list[str] = []

            def ours(storage=storage) -> float:
                seconds = timed(
                    lambda: saved.extend(
                        storage.save(f"small/{uuid.uuid4().hex}.bin", ContentFile(data)) for _ in range(count)
                    )
                )
                return count / seconds

            def theirs(raw=raw) -> float:
                return count / timed(lambda: [raw(f"raw/{uuid.uuid4().hex}.bin") for _ in range(count)])

            ours()  # warm-up: connections, code paths
            figures = interleaved({"storage": ours, "raw": theirs}, rounds)
            with CaptureQueriesContext(connection) as queries:
                storage.save(f"small/{uuid.uuid4().hex}.bin", ContentFile(data))
            statements = len(queries.captured_queries)
            mine, raw_stats = Stats.of(figures["storage"]), Stats.of(figures["raw"])
            ratio = mine.median / raw_stats.median
            goal = SMALL_TARGETS[label]
            client = "requests PUT" if backend == "Vercel Blob" else "boto3 put_object"
            rows.append(
                [
                    label,
                    backend,
                    mine.fmt(" saves/s", 0),
                    f"{raw_stats.fmt(' saves/s', 0)} {client}",
                    f"{ratio:.2f}",
                    f"≥ {goal}: {verdict(ratio, goal)}",
                    f"{statements} ({', '.join(q['sql'].split()[0] for q in queries.captured_queries)})",
                ]
            )
            targets.append(
                ratio_target(
                    f"small saves {label}, FallbackStorage on {backend} vs {client}",
                    goal,
                    mine,
                    raw_stats,
                    "saves/s",
                    why=f"{statements} PostgreSQL round trips per save beside the transfer",
                )
            )
            for name in saved:
                storage.delete(name)
    body = table(
        [
            "size",
            "backend",
            "FallbackStorage saves/s: median (range, rounds)",
            "raw client, same server, same run",
            "ratio",
            "target",
            "PostgreSQL round trips per save",
        ],
        rows,
    )
    return body, targets


# --- big uploads and downloads against the SDK and plain django-storages ---------------------------


def sdk_uploads(stores: dict, work: Path, sizes: list[int], runs: int | None) -> tuple[str, list[Target]]:
    from django.core.files import File
    from vercel.blob.sync import delete_blob, put_blob

    rows, targets = [], []
    for size_mib in sizes:
        source = make_source(work, size_mib * MiB, f"sdk-{size_mib}.bin")
        size = source.stat().st_size
        names: dict[str, list[str]] = {"vercel_alone": [], "fallback_vercel": [], "sdk": []}

        def save_with(key: str) -> Callable[[], float]:
            def run() -> float:
                with source.open("rb") as handle:
                    seconds = timed(
                        lambda: names[key].append(
                            stores[key].save(f"up/{uuid.uuid4().hex}.bin", File(handle, name="x.bin"))
                        )
                    )
                return size_mib / seconds

            return run

        def sdk() -> float:
            with source.open("rb") as handle:
                pathname = f"sdk/{uuid.uuid4().hex}.bin"
                seconds = timed(lambda: put_blob(pathname, handle, access="public", content_length=size))
            names["sdk"].append(pathname)
            return size_mib / seconds

        rounds = runs or SDK_RUNS.get(size_mib, 5)
        figures = interleaved(
            {"vercel_alone": save_with("vercel_alone"), "fallback_vercel": save_with("fallback_vercel"), "sdk": sdk},
            rounds,
        )
        sdk_stats = Stats.of(figures["sdk"])
        for key, label in (("vercel_alone", "VercelBlobStorage"), ("fallback_vercel", "FallbackStorage[vercel]")):
            mine = Stats.of(figures[key])
            ratio = mine.median / sdk_stats.median
            rows.append(
                [f"{size_mib} MiB", label, mine.fmt(" MiB/s", 0), sdk_stats.fmt(" MiB/s", 0), f"{ratio:.2f}",
                 verdict(ratio, 1.0)]
            )  # fmt: skip
            targets.append(
                ratio_target(
                    f"upload {size_mib} MiB, {label} vs the official SDK put_blob",
                    1.0,
                    mine,
                    sdk_stats,
                    "MiB/s",
                    why="see the Vercel upload notes below the table",
                )
            )
        for name in names["vercel_alone"]:
            stores["vercel_alone"].delete(name)
        for name in names["fallback_vercel"]:
            stores["fallback_vercel"].delete(name)
        for pathname in names["sdk"]:
            delete_blob(pathname)
        source.unlink()
    body = table(
        ["size", "upload through", "MiB/s: median (range, rounds)", "official SDK put_blob, same run", "ratio",
         "target ≥ 1.0"],
        rows,
    )  # fmt: skip
    return body, targets


def downloads(stores: dict, plain_s3, work: Path, sizes: list[int], runs: int | None) -> tuple[str, list[Target]]:
    from django.core.files import File
    from vercel.blob.sync import stream_blob

    def drain(handle) -> int:
        total = 0
        while chunk := handle.read(MiB):
            total += len(chunk)
        return total

    rows, targets = [], []
    for size_mib in sizes:
        source = make_source(work, size_mib * MiB, f"down-{size_mib}.bin")
        with source.open("rb") as handle:
            on_vercel = stores["fallback_vercel"].save(f"down/{uuid.uuid4().hex}.bin", File(handle, name="d.bin"))
        with source.open("rb") as handle:
            on_s3 = stores["fallback_s3"].save(f"down/{uuid.uuid4().hex}.bin", File(handle, name="d.bin"))
        # The SDK takes a pathname (or a https://<store>.public.blob.vercel-storage.com URL) only.
        blob_url = on_vercel

        def fallback_read(storage, name) -> Callable[[], float]:
            def run() -> float:
                def read() -> None:
                    with storage.open(name, "rb") as handle:
                        assert drain(handle) == size_mib * MiB

                return size_mib / timed(read)

            return run

        def plain_read() -> float:
            def read() -> None:
                with plain_s3.open(on_s3, "rb") as handle:
                    assert drain(handle) == size_mib * MiB

            return size_mib / timed(read)

        def sdk_read() -> float:
            def read() -> None:
                total = 0
                with stream_blob(blob_url, access="public") as download:
                    for chunk in download:
                        total += len(chunk)
                assert total == size_mib * MiB

            return size_mib / timed(read)

        rounds = runs or SDK_RUNS.get(size_mib, 5)
        figures = interleaved(
            {
                "fallback_s3": fallback_read(stores["fallback_s3"], on_s3),
                "plain_s3": plain_read,
                "fallback_vercel": fallback_read(stores["fallback_vercel"], on_vercel),
                "sdk": sdk_read,
            },
            rounds,
        )
        for ours, theirs, label, goal in (
            ("fallback_s3", "plain_s3", "S3 (nanio): FallbackStorage vs plain django-storages S3Storage", 2.0),
            ("fallback_vercel", "sdk", "Vercel Blob: FallbackStorage vs the official SDK stream_blob", 1.5),
        ):
            mine, other = Stats.of(figures[ours]), Stats.of(figures[theirs])
            ratio = mine.median / other.median
            rows.append([f"{size_mib} MiB", label, mine.fmt(" MiB/s", 0), other.fmt(" MiB/s", 0), f"{ratio:.2f}",
                         f"≥ {goal}: {verdict(ratio, goal)}"])  # fmt: skip
            targets.append(ratio_target(f"download {size_mib} MiB, {label}", goal, mine, other, "MiB/s"))
        stores["fallback_vercel"].delete(on_vercel)
        stores["fallback_s3"].delete(on_s3)
        source.unlink()
    headers = ["size", "download", "ours MiB/s: median (range, rounds)", "theirs MiB/s, same run", "ratio", "target"]
    body = table(headers, rows)
    return body, targets


# --- concurrent awaits -------------------------------------------------------------------------


def concurrent_awaits(stores: dict, api_url: str, rounds: int) -> tuple[str, list[Target]]:
    from django.contrib.auth import get_user_model

    from uploads.manager import StorageManager

    manager = StorageManager(stores["fallback_vercel"])
    user, _ = get_user_model().objects.get_or_create(username="bench-clients")
    urls = [
        manager.store_file_sync(user.pk, f"file {index}".encode() * 100, f"f{index}.txt") for index in range(CONCURRENT)
    ]
    control = f"{api_url.removesuffix('/api/blob')}/_emulator/faults"
    auth = {"authorization": f"Bearer {TOKEN}"}
    requests.post(control, json={"kind": "slow", "seconds": LATENCY}, headers=auth, timeout=10).raise_for_status()
    try:

        async def together() -> None:
            await asyncio.gather(*(manager.get_file(url) for url in urls))

        async def one_by_one() -> None:
            for url in urls:
                await manager.get_file(url)

        asyncio.run(together())  # warm-up: the pool's threads and connections
        figures = interleaved(
            {
                "together": lambda: timed(lambda: asyncio.run(together())),
                "serial": lambda: timed(lambda: asyncio.run(one_by_one())),
            },
            rounds,
        )
    finally:
        requests.delete(control, headers=auth, timeout=10).raise_for_status()
    together_stats = Stats.of([seconds * 1000 for seconds in figures["together"]])
    serial_stats = Stats.of([seconds * 1000 for seconds in figures["serial"]])
    speedup = serial_stats.median / together_stats.median
    body = table(
        ["20 awaits of storage_manager.get_file, every answer delayed 50 ms", "ms: median (range, rounds)"],
        [["concurrently (asyncio.gather in one event loop)", together_stats.fmt(" ms")],
         ["one by one", serial_stats.fmt(" ms")],
         ["speed-up", f"{speedup:.1f}x (target ≥ 5x: {verdict(speedup, 5.0)})"]],
    )  # fmt: skip
    target = Target(
        name="20 concurrent awaits of storage_manager.get_file vs one by one (50 ms per answer)",
        goal="≥ 5x faster",
        measured=f"{speedup:.1f}x ({together_stats.median:.0f} vs {serial_stats.median:.0f} ms)",
        met=speedup >= 5,
        shortfall=f"{5 - speedup:.1f}x",
        why="" if speedup >= 5 else "the awaits overlap less than the pool allows (see the range)",
    )
    return body, [target]


# --- end to end: the upload API through gunicorn and a Celery worker --------------------------------

SETUP_SCRIPT = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username="bench-clients-api")
print(Token.objects.get_or_create(user=user)[0].key)
"""


class FormBody:
    """multipart/form-data of one file read from disk in 1 MiB blocks, with its length (no chunked body)."""

    def __init__(self, path: Path, boundary: str) -> None:
        self.path = path
        self.head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ndocument\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self.head) + self.path.stat().st_size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as handle:
            while block := handle.read(MiB):
                yield block
        yield self.tail


def text_source(work: Path, size: int) -> Path:
    path = work / f"e2e-{size // MiB}MiB.txt"
    line = b"Instantory benchmark line: beaded stools, woven baskets, teak bowls.\n"
    block = line * (MiB // len(line))
    with path.open("wb") as out:
        left = size
        while left:
            part = block[: min(len(block), left)]
            out.write(part)
            left -= len(part)
    return path


@contextlib.contextmanager
def redis_server(work: Path) -> Iterator[str]:
    from tests.peers.net import free_port, wait_for_port

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: apt-get install -y redis-server")
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


@contextlib.contextmanager
def celery_worker(env: dict[str, str], work: Path) -> Iterator[None]:
    log_path = work / "celery.log"
    log = log_path.open("ab")
    proc = subprocess.Popen(
        [PYTHON, "-m", "celery", "-A", "bench.celery_without_processing", "worker", "--pool=solo",
         "--loglevel=info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "ready" not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def end_to_end(work: Path, api_url: str, url_base: str, sizes: list[int], runs: int | None) -> tuple[str, list[Target]]:
    rows, targets = [], []
    with redis_server(work) as broker:
        env = bench_env(
            work,
            UPLOAD_MAX_SIZE=str(max(sizes) * MiB + MiB),
            STORAGE_BACKEND="vercel",
            BLOB_READ_WRITE_TOKEN=TOKEN,
            VERCEL_BLOB_API_URL=api_url,
            VERCEL_BLOB_URL_BASE=url_base,
            CELERY_BROKER_URL=broker,
        )
        # The worker logs "ready" at info level only.
        token = manage(env, "shell", "-c", SETUP_SCRIPT).strip().splitlines()[-1]
        headers = {"Authorization": f"Token {token}"}
        raw = RawPut(api_url)
        with (
            celery_worker({**env, "LOG_LEVEL": "info"}, work),
            gunicorn(env, app="bench.wsgi_without_processing") as (
                base,
                _,
            ),
        ):
            session = requests.Session()
            session.trust_env = False
            posted: list[float] = []

            def through_api(source: Path) -> float:
                boundary = uuid.uuid4().hex
                start = time.perf_counter()
                response = session.post(
                    f"{base}/api/uploads/",
                    data=FormBody(source, boundary),
                    headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                    timeout=600,
                )
                response.raise_for_status()
                posted.append(time.perf_counter() - start)
                upload = response.json()
                while upload["status"] not in ("complete", "error"):
                    time.sleep(0.005)
                    reply = session.get(f"{base}/api/uploads/{upload['id']}/", headers=headers, timeout=60)
                    reply.raise_for_status()
                    upload = reply.json()
                seconds = time.perf_counter() - start
                if upload["status"] != "complete":
                    raise RuntimeError(f"the upload ended as {upload['status']}: {upload}")
                return seconds

            def raw_upload(source: Path) -> float:
                with source.open("rb") as handle:
                    return timed(lambda: raw.put(f"e2e-raw/{uuid.uuid4().hex}.txt", handle))

            for size_mib in sizes:
                source = text_source(work, size_mib * MiB)
                through_api(source)  # warm-up
                figures = interleaved(
                    {"api": lambda: size_mib / through_api(source), "raw": lambda: size_mib / raw_upload(source)},
                    runs or E2E_RUNS.get(size_mib, 5),
                )
                post_ms = Stats.of([seconds * 1000 for seconds in posted[-len(figures["api"]) :]])
                posted.clear()
                api, rawest = Stats.of(figures["api"]), Stats.of(figures["raw"])
                ratio = api.median / rawest.median
                rows.append([f"{size_mib} MiB", api.fmt(" MiB/s", 0), post_ms.fmt(" ms", 0), rawest.fmt(" MiB/s", 0),
                             f"{ratio:.2f}", f"≥ 0.5: {verdict(ratio, 0.5)}"])  # fmt: skip
                targets.append(
                    ratio_target(
                        f"end to end POST /api/uploads/ → complete, {size_mib} MiB, vs one raw PUT",
                        0.5,
                        api,
                        rawest,
                        "MiB/s",
                        why="the request body is received, then the worker reads it again to send it",
                    )
                )
                source.unlink()
    body = table(
        ["file", "POST /api/uploads/ → complete, MiB/s: median (range, rounds)", "of which the POST itself",
         "one raw PUT of the file, same run", "ratio", "target"],
        rows,
    )  # fmt: skip
    return body, targets


# --- the run -----------------------------------------------------------------------------------


def run(args) -> str:
    from bench.common import load_text

    sections, targets = [], []
    with workdir() as work:
        django_in_process(work)
        with vercel_blob_process(work, TOKEN) as (api_url, url_base), nanio(work) as s3_server:
            port = int(api_url.split(":")[2].split("/")[0])
            stores = storages(api_url, url_base, s3_server)
            client = boto3_client(s3_server)
            client.create_bucket(Bucket=BUCKET)
            parts = set(args.only.split(",")) if args.only else {"small", "sdk", "downloads", "async", "e2e"}
            with sdk_session(api_url, port):
                if "small" in parts:
                    body, found = small_saves(stores, RawPut(api_url), client, args.rounds)
                    sections.append(("FallbackStorage saves of small files against the raw client", body))
                    targets += found
                if "sdk" in parts:
                    body, found = sdk_uploads(stores, work, [int(s) for s in args.sizes.split(",")], args.runs)
                    sections.append(("Vercel Blob uploads against the official Python SDK (vercel-blob 0.5.0)", body))
                    targets += found
                if "downloads" in parts:
                    sizes = [int(s) for s in args.download_sizes.split(",")]
                    body, found = downloads(stores, plain_django_storages_s3(s3_server), work, sizes, args.runs)
                    sections.append(("Downloads against plain django-storages and the official SDK", body))
                    targets += found
            if "async" in parts:
                body, found = concurrent_awaits(stores, api_url, args.rounds)
                sections.append(("Concurrent awaits of storage_manager", body))
                targets += found
            if "e2e" in parts:
                sizes = [int(s) for s in args.e2e_sizes.split(",")]
                body, found = end_to_end(work, api_url, url_base, sizes, args.runs)
                sections.append(("End to end: the upload API, gunicorn and a Celery worker on Redis", body))
                targets += found
    emit_targets(targets)
    text = [f"Load average during this suite: {load_text()}.", ""]
    for title, body in sections:
        text += [f"### {title}", "", body, ""]
    text.append(NOTES)
    return "\n".join(text)


NOTES = """Notes:
- Each ratio is ours / theirs of the medians, both measured in this run on the same server, rounds
  interleaved (order rotated each round). Small saves: saves per second over a batch per round.
- PostgreSQL round trips per save: the statements Django sent during one save (each is one round trip;
  in autocommit each is its own transaction): the reservation is one unique INSERT (the free-name check)
  whose commit does not wait for its WAL flush, the completion one UPDATE, the save's one durable
  commit (storage_app/locations.py says why that keeps the crash guarantees).
- Vercel uploads: VercelBlobStorage sends one streamed PUT below its multipart threshold
  (VERCEL_BLOB_MULTIPART_THRESHOLD) and the multipart protocol above it; docs/vercel-blob.md gives the
  threshold and the measurements it was chosen by. The SDK's put_blob is always one PUT.
- Concurrent awaits: the server delays every answer by 50 ms (`POST /_emulator/faults
  {"kind": "slow", "seconds": 0.05}`); storage_manager's async calls run on a thread pool of their own.
- End to end: one sync gunicorn worker, one Celery worker (solo pool) on a Redis broker, Vercel Blob
  primary; time from the start of the POST until GET /api/uploads/<id>/ reads `complete` (polled every
  5 ms). Document text extraction and embedding are left out in both processes
  (bench/wsgi_without_processing.py, bench/celery_without_processing.py)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated parts: small, sdk, downloads, async, e2e (default all)")
    parser.add_argument("--sizes", default="1,16,256", help="SDK upload sizes in MiB (default 1,16,256)")
    parser.add_argument("--download-sizes", default="16,256", help="download sizes in MiB (default 16,256)")
    parser.add_argument("--e2e-sizes", default="16,256", help="end-to-end sizes in MiB (default 16,256)")
    parser.add_argument("--runs", type=int, default=None, help="rounds of the big transfers (default 9/7/5 by size)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the small saves and the awaits (default 7)")
    args = parser.parse_args()
    print(run(args))


if __name__ == "__main__":
    sys.exit(main())
