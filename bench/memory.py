"""Peak memory of the web process while a big file goes in through the upload API and back out.

A gunicorn worker serves the app on the embedded defaults (tasks eager, so the promotion to
storage runs in the same worker); the file goes up as a streamed multipart body and comes back
through the document download endpoint. The figure is the growth of the worker's resident-memory
high-water mark (VmHWM) over its value after a warm-up request.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import uuid
from collections.abc import Iterator

import requests

from bench.common import bench_env, gunicorn, manage, peak_rss, table, workdir

MiB = 1024**2
CHUNK = MiB
TARGET_MIB = 64

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


def multipart(size: int, digest) -> tuple[Iterator[bytes], int, str]:
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

    return body(), len(head) + size + len(tail), f"multipart/form-data; boundary={boundary}"


def measure(size: int) -> dict:
    with workdir() as work:
        env = bench_env(work, UPLOAD_MAX_SIZE=str(size + MiB))
        manage(env, "migrate", "--noinput")
        token = manage(env, "shell", "-c", SETUP_SCRIPT).strip().splitlines()[-1]
        headers = {"Authorization": f"Token {token}"}
        with gunicorn(env) as (base, worker):
            requests.get(f"{base}/api/uploads/", headers=headers, timeout=30).raise_for_status()
            baseline = peak_rss(worker)
            sent = hashlib.sha256()
            body, length, content_type = multipart(size, sent)
            response = requests.post(
                f"{base}/api/uploads/",
                data=body,
                headers={**headers, "Content-Type": content_type, "Content-Length": str(length)},
                timeout=1800,
            )
            response.raise_for_status()
            upload = response.json()
            assert upload["status"] == "complete", upload
            after_upload = peak_rss(worker)
            received = hashlib.sha256()
            with requests.get(
                f"{base}/api/documents/{upload['document']}/download", headers=headers, stream=True, timeout=1800
            ) as download:
                download.raise_for_status()
                for chunk in download.iter_content(CHUNK):
                    received.update(chunk)
            after_download = peak_rss(worker)
        assert received.hexdigest() == sent.hexdigest() == upload["checksum"], "content changed on the way"
    return {
        "size": size,
        "upload_growth": after_upload - baseline,
        "download_growth": after_download - after_upload,
        "total_growth": after_download - baseline,
    }


def run(sizes_mib: list[int]) -> str:
    rows = []
    for size_mib in sizes_mib:
        result = measure(size_mib * MiB)
        growth = result["total_growth"] / MiB
        rows.append(
            [
                f"{size_mib} MiB",
                f"{result['upload_growth'] / MiB:.1f} MiB",
                f"{result['download_growth'] / MiB:.1f} MiB",
                f"{growth:.1f} MiB",
                "met" if growth <= TARGET_MIB else f"missed by {growth - TARGET_MIB:.1f} MiB",
            ]
        )
    return table(
        ["file", "peak growth: upload + promotion", "peak growth: download", "peak growth: total", "target ≤ 64 MiB"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", default=os.environ.get("BENCH_MEMORY_SIZES", "256,1024"), help="MiB, comma-separated"
    )
    args = parser.parse_args()
    print(run([int(s) for s in args.sizes.split(",")]))


if __name__ == "__main__":
    main()
