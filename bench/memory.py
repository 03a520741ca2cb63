"""Peak memory of the web process while a big file goes in through the upload API and back out.

A gunicorn worker serves the app on the embedded defaults (tasks eager, so the promotion to
storage runs in the same worker); the file goes up as a streamed multipart body and comes back
through the document download endpoint. The figure is the growth of the worker's resident-memory
high-water mark (VmHWM) over its resident memory before each step, reset between steps.
"""

from __future__ import annotations

import argparse
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import requests

from bench.common import (
    Stats,
    Target,
    bench_env,
    emit_targets,
    gunicorn,
    manage,
    peak_rss,
    table,
    vercel_blob_process,
    workdir,
)

MiB = 1024**2
CHUNK = MiB
TARGET_MIB = 64
# A throwaway token the loopback server accepts; it protects nothing.
TOKEN = "vercel_blob_rw_benchmemory_" + "7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b"

SETUP_SCRIPT = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username="bench-memory")
print(Token.objects.get_or_create(user=user)[0].key)
"""


def text_chunks(size: int) -> Iterator[bytes]:
    line = b"Instantory benchmark line: beaded stools, woven baskets, teak bowls.\n"
    block = line * (CHUNK // len(line)) + line[: CHUNK % len(line)]
    sent = 0
    while sent < size:
        part = block[: min(CHUNK, size - sent)]
        sent += len(part)
        yield part


class SizedBody:
    """A streamed request body that knows its length: requests then sends Content-Length, not chunked
    (gunicorn refuses a request carrying both, and WSGI has no chunked request bodies)."""

    def __init__(self, chunks: Iterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


def multipart(size: int, digest) -> tuple[SizedBody, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ndocument\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        for chunk in text_chunks(size):
            digest.update(chunk)
            yield chunk
        yield tail

    length = len(head) + size + len(tail)
    return SizedBody(body(), length), f"multipart/form-data; boundary={boundary}"


def reset_peak(process) -> int:
    """Reset the process's high-water mark to its current resident memory (Linux clear_refs 5); returns it."""
    Path(f"/proc/{process.pid}/clear_refs").write_text("5")
    return process.memory_info().rss


def transfer(base: str, headers: dict[str, str], size: int, worker) -> tuple[float, float]:
    """One upload then one download of `size` bytes; the peak growth (bytes) of each over the RSS before it."""
    baseline = reset_peak(worker)
    sent = hashlib.sha256()
    body, content_type = multipart(size, sent)
    response = requests.post(
        f"{base}/api/uploads/", data=body, headers={**headers, "Content-Type": content_type}, timeout=1800
    )
    response.raise_for_status()
    upload = response.json()
    assert upload["status"] == "complete", upload
    upload_growth = peak_rss(worker) - baseline
    baseline = reset_peak(worker)
    received = hashlib.sha256()
    url = f"{base}/api/documents/{upload['document']}/download"
    with requests.get(url, headers=headers, stream=True, timeout=1800) as download:
        download.raise_for_status()
        for chunk in download.iter_content(CHUNK):
            received.update(chunk)
    download_growth = peak_rss(worker) - baseline
    assert received.hexdigest() == sent.hexdigest() == upload["checksum"], "content changed on the way"
    return upload_growth, download_growth


def measure(sizes_mib: list[int], runs: int) -> dict[int, tuple[Stats, Stats]]:
    """Per size: (upload growth, download growth) in MiB over `runs` runs, in one gunicorn worker."""
    results: dict[int, tuple[list[float], list[float]]] = {size: ([], []) for size in sizes_mib}
    with workdir() as work, vercel_blob_process(work, TOKEN) as (api_url, url_base):
        env = bench_env(
            work,
            UPLOAD_MAX_SIZE=str(max(sizes_mib) * MiB + MiB),
            STORAGE_BACKEND="vercel",
            BLOB_READ_WRITE_TOKEN=TOKEN,
            VERCEL_BLOB_API_URL=api_url,
            VERCEL_BLOB_URL_BASE=url_base,
        )
        manage(env, "migrate", "--noinput")
        token = manage(env, "shell", "-c", SETUP_SCRIPT).strip().splitlines()[-1]
        headers = {"Authorization": f"Token {token}"}
        with gunicorn(env, app="bench.wsgi_without_processing") as (base, worker):
            # Warm-up: the first upload and download load their code paths, which is not growth with size.
            transfer(base, headers, MiB, worker)
            for _ in range(runs):
                for size_mib in sizes_mib:
                    up, down = transfer(base, headers, size_mib * MiB, worker)
                    results[size_mib][0].append(up / MiB)
                    results[size_mib][1].append(down / MiB)
    return {size: (Stats.of(up), Stats.of(down)) for size, (up, down) in results.items()}


def run(sizes_mib: list[int], runs: int) -> str:
    results = measure(sizes_mib, runs)
    rows = []
    targets = []
    for size_mib, (up, down) in results.items():
        worst = max(up.high, down.high)
        met = worst <= TARGET_MIB
        rows.append(
            [
                f"{size_mib} MiB",
                up.fmt(" MiB"),
                down.fmt(" MiB"),
                "met" if met else f"**missed** by {worst - TARGET_MIB:.1f} MiB",
            ]
        )
        targets.append(
            Target(
                name=f"peak memory growth, {size_mib} MiB through the API and back",
                goal=f"≤ {TARGET_MIB} MiB",
                measured=f"upload {up.median:.1f} MiB, download {down.median:.1f} MiB (worst run {worst:.1f} MiB)",
                met=met,
                shortfall=f"{worst - TARGET_MIB:.1f} MiB",
                why="" if met else f"the worst run of {size_mib} MiB grew the worker by {worst:.1f} MiB",
            )
        )
    emit_targets(targets)
    return (
        table(
            [
                "file",
                "peak growth: upload + promotion into storage (median, range, runs)",
                "peak growth: download",
                f"target ≤ {TARGET_MIB} MiB (worst run)",
            ],
            rows,
        )
        + "\n\nOne gunicorn worker (sync, tasks run in-process after commit, as with no broker) with FallbackStorage "
        "whose primary is VercelBlobStorage on the local Vercel Blob server; the file is text, streamed up as "
        "multipart form data and read back through GET /api/documents/<id>/download, checked by SHA-256. Growth = "
        "the worker's resident-memory high-water mark (VmHWM, reset before each step) minus its resident memory "
        "before the step. Document text extraction and embedding are left out (a Celery job of their own in "
        "production; bench/wsgi_without_processing.py)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="256,1024", help="file sizes in MiB, comma-separated (default 256,1024)")
    parser.add_argument("--runs", type=int, default=3, help="runs per size, in one worker (default 3)")
    args = parser.parse_args()
    print(run([int(size) for size in args.sizes.split(",")], args.runs))


if __name__ == "__main__":
    main()
