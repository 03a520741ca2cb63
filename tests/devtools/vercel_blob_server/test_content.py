"""Blob content as the local server serves it: at url_base/<pathname> and on the store's blob host."""

from __future__ import annotations

import http.client
import json
import threading

import psutil
import pytest
import requests

MiB = 1024 * 1024
MD5_OF_1_GIB_OF_ZEROS = "cd573cfaace07e7949bc0c46028904ff"


def put(server, pathname: str, body: bytes, **headers) -> dict:
    response = requests.put(
        server.api_url + "/",
        params={"pathname": pathname},
        data=body,
        headers={"authorization": f"Bearer {server.token}", "x-vercel-blob-access": server.access, **headers},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def test_content_headers(vercel_blob):
    blob = put(vercel_blob, "docs/ünï.txt", b"hello", **{"x-cache-control-max-age": "120"})
    response = requests.get(blob["url"], timeout=10)
    assert response.content == b"hello"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["ETag"] == blob["etag"]
    assert response.headers["Cache-Control"] == "public, max-age=120"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Last-Modified"].endswith("GMT")
    assert response.headers["Content-Disposition"] == "inline; filename=\"?n?.txt\"; filename*=UTF-8''%C3%BCn%C3%AF.txt"


@pytest.mark.parametrize(
    ("pathname", "disposition"),
    [("a.pdf", "inline"), ("a.png", "inline"), ("a.json", "inline"), ("a.zip", "attachment"), ("a.html", "attachment")],
)
def test_inline_or_attachment_by_type(vercel_blob, pathname, disposition):
    blob = put(vercel_blob, pathname, b"x")
    assert requests.get(blob["url"], timeout=10).headers["Content-Disposition"].startswith(disposition)
    assert requests.get(blob["downloadUrl"], timeout=10).headers["Content-Disposition"].startswith("attachment")


def test_ranges(vercel_blob):
    blob = put(vercel_blob, "r.bin", bytes(range(100)))
    middle = requests.get(blob["url"], headers={"Range": "bytes=10-19"}, timeout=10)
    assert middle.status_code == 206
    assert middle.content == bytes(range(10, 20))
    assert middle.headers["Content-Range"] == "bytes 10-19/100"
    tail = requests.get(blob["url"], headers={"Range": "bytes=-5"}, timeout=10)
    assert tail.content == bytes(range(95, 100))
    open_ended = requests.get(blob["url"], headers={"Range": "bytes=98-"}, timeout=10)
    assert open_ended.content == bytes([98, 99])
    beyond = requests.get(blob["url"], headers={"Range": "bytes=100-"}, timeout=10)
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == "bytes */100"


def test_if_none_match_and_head(vercel_blob):
    blob = put(vercel_blob, "cache.txt", b"cached")
    not_modified = requests.get(blob["url"], headers={"If-None-Match": blob["etag"]}, timeout=10)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    head = requests.head(blob["url"], timeout=10)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == "6"
    assert head.content == b""


def test_blob_host_requests_are_content_even_for_api_like_paths(vercel_blob):
    put(vercel_blob, "api/blob/x.txt", b"not the api")
    host = f"{vercel_blob.store_id.lower()}.public.blob.vercel-storage.com"
    response = requests.get(f"{vercel_blob.url_base}/api/blob/x.txt", headers={"Host": host}, timeout=10)
    assert response.content == b"not the api"
    other = requests.get(
        f"{vercel_blob.url_base}/api/blob/x.txt",
        headers={"Host": "someoneelse.public.blob.vercel-storage.com"},
        timeout=10,
    )
    assert other.status_code == 404
    wrong_access = requests.get(
        f"{vercel_blob.url_base}/api/blob/x.txt",
        headers={"Host": f"{vercel_blob.store_id.lower()}.private.blob.vercel-storage.com"},
        timeout=10,
    )
    assert wrong_access.status_code == 404


def test_missing_content_and_methods(vercel_blob):
    assert requests.get(f"{vercel_blob.url_base}/nothing.txt", timeout=10).status_code == 404
    put(vercel_blob, "only-get.txt", b"x")
    assert requests.delete(f"{vercel_blob.url_base}/only-get.txt", timeout=10).status_code == 405


def test_private_content_needs_the_token(vercel_blob_private):
    blob = put(vercel_blob_private, "p/secret.txt", b"secret")
    assert blob["url"].startswith(vercel_blob_private.url_base)
    assert requests.get(blob["url"], timeout=10).status_code == 403
    wrong = requests.get(blob["url"], headers={"authorization": "Bearer vercel_blob_rw_x_y"}, timeout=10)
    assert wrong.status_code == 403
    right = requests.get(blob["url"], headers={"authorization": f"Bearer {vercel_blob_private.token}"}, timeout=10)
    assert right.content == b"secret"
    assert right.headers["Cache-Control"].startswith("private")


class ZeroBody:
    """`size` zero bytes as a request body with a length, produced at most 1 MiB at a time."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.size = size
        self.block = bytes(MiB)

    def __len__(self) -> int:
        return self.size

    def read(self, amount: int = -1) -> bytes:
        amount = min(len(self.block), self.left if amount is None or amount < 0 else amount, self.left)
        self.left -= amount
        return self.block[:amount]


def test_a_1_gib_body_is_received_in_constant_memory(vercel_blob):
    """The server runs in this process: its buffers show in this process's RSS."""
    process = psutil.Process()
    peak = [process.memory_info().rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            peak[0] = max(peak[0], process.memory_info().rss)

    size = 1024 * MiB
    baseline = peak[0]
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        # http.client with 1 MiB blocks: requests would send 16 KiB at a time, slower for no benefit here.
        connection = http.client.HTTPConnection("127.0.0.1", vercel_blob.port, timeout=60, blocksize=MiB)
        connection.request(
            "PUT",
            "/api/blob/?pathname=huge/zeros.bin",
            body=ZeroBody(size),
            headers={
                "authorization": f"Bearer {vercel_blob.token}",
                "x-vercel-blob-access": "public",
                "content-length": str(size),
            },
        )
        blob = json.loads(connection.getresponse().read())
        connection.close()
        tail = requests.get(blob["url"], headers={"Range": f"bytes={size - MiB}-"}, timeout=60)
    finally:
        stop.set()
        sampler.join()
    assert blob["etag"] == f'"{MD5_OF_1_GIB_OF_ZEROS}"'
    assert tail.status_code == 206
    assert tail.content == bytes(MiB)
    assert peak[0] - baseline < 32 * MiB, f"grew by {(peak[0] - baseline) / MiB:.1f} MiB"
    vercel_blob.store.clear()  # give the disk back at once
