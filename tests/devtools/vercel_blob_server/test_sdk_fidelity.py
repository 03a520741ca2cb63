"""Vercel's official Python SDK (`vercel-blob`, module vercel.blob.sync) against the local server.

The SDK is configured the way an application configures it, through the environment
(BLOB_READ_WRITE_TOKEN, VERCEL_BLOB_API_URL; VERCEL_BLOB_RETRIES=0 and no OIDC variables), inside a
`vercel.api.session()` so each test reads its own environment. Downloads go to
`https://<storeId>.<access>.blob.vercel-storage.com/...`, a host the SDK insists on; an httpx
transport sends those requests to the local server over plain HTTP with the Host header unchanged,
as the protocol notes' probe did with an undici dispatcher. Everything else is the SDK's own code.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta

import httpx2
import pytest
import requests
from vercel.api import session
from vercel.blob.sync import (
    BlobAccessError,
    BlobError,
    BlobNotFoundError,
    BlobPreconditionFailedError,
    BlobPrefix,
    BlobServiceNotAvailable,
    BlobServiceRateLimited,
    BlobStoreSuspendedError,
    ListBlob,
    SyncBlobServiceOptions,
    copy_blob,
    delete_blob,
    get_blob,
    head_blob,
    multipart_upload_blob,
    put_blob,
    query_blob_entries,
    query_blobs,
    stream_blob,
)

MiB = 1024 * 1024


class BlobHostToLocalServer(httpx2.BaseTransport):
    """Sends requests for *.blob.vercel-storage.com to the local server; the Host header keeps the blob host."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host.endswith(".blob.vercel-storage.com"):
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _sdk(server, monkeypatch, token: str | None = None):
    monkeypatch.setenv("BLOB_READ_WRITE_TOKEN", token or server.token)
    monkeypatch.setenv("VERCEL_BLOB_API_URL", server.api_url)
    monkeypatch.setenv("VERCEL_BLOB_RETRIES", "0")
    for name in (
        "VERCEL_OIDC_TOKEN",
        "BLOB_STORE_ID",
        "VERCEL_BLOB_READ_WRITE_TOKEN",
        "NEXT_PUBLIC_VERCEL_BLOB_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    return session(
        service_options=[SyncBlobServiceOptions()],
        httpx_client_factory=lambda: httpx2.Client(transport=BlobHostToLocalServer(server.port)),
    )


@pytest.fixture
def sdk(vercel_blob, monkeypatch):
    with _sdk(vercel_blob, monkeypatch):
        yield vercel_blob


@pytest.fixture
def private_sdk(vercel_blob_private, monkeypatch):
    with _sdk(vercel_blob_private, monkeypatch):
        yield vercel_blob_private


def blob_host_url(server, pathname: str) -> str:
    return f"https://{server.store_id.lower()}.{server.access}.blob.vercel-storage.com/{pathname}"


# --- put -----------------------------------------------------------------------------------


def test_put_returns_what_the_sdk_expects(sdk):
    result = put_blob("probe/hello.txt", b"hello world", access="public", content_type="text/plain")
    assert result.pathname == "probe/hello.txt"
    assert result.url == f"{sdk.url_base}/probe/hello.txt"
    assert result.download_url == f"{sdk.url_base}/probe/hello.txt?download=1"
    assert result.content_type == "text/plain"
    assert result.content_disposition == 'attachment; filename="hello.txt"'
    assert result.etag == f'"{hashlib.md5(b"hello world").hexdigest()}"'  # noqa: S324 - the service's ETag scheme
    put = next(request for request in sdk.requests if request.route == "put")
    assert put.headers["x-api-version"] == "12"
    assert put.headers["x-vercel-blob-access"] == "public"
    assert put.headers["authorization"] == "***"


def test_put_guesses_the_content_type_from_the_extension(sdk):
    assert put_blob("img/photo.png", b"\x89PNG", access="public").content_type == "image/png"
    assert put_blob("raw/unknown.zzz9", b"?", access="public").content_type == "application/octet-stream"


def test_put_refuses_an_existing_pathname_with_the_real_message(sdk):
    put_blob("dup.txt", b"one", access="public")
    with pytest.raises(BlobError, match=r"This blob already exists, use `allowOverwrite: true`"):
        put_blob("dup.txt", b"two", access="public")
    replaced = put_blob("dup.txt", b"three", access="public", allow_overwrite=True)
    assert head_blob("dup.txt").etag == replaced.etag
    assert head_blob("dup.txt").size == 5


def test_put_with_random_suffix(sdk):
    first = put_blob("photos/cat.jpg", b"a", access="public", add_random_suffix=True)
    second = put_blob("photos/cat.jpg", b"b", access="public", add_random_suffix=True)
    for result in (first, second):
        assert re.fullmatch(r"photos/cat-[A-Za-z0-9]{30}\.jpg", result.pathname)
    assert first.pathname != second.pathname
    assert head_blob(first.pathname).size == 1


def test_put_streams_a_reader_with_content_length(sdk):
    body = io.BytesIO(b"x" * (3 * MiB + 7))
    result = put_blob("stream/big.bin", body, access="public", content_length=3 * MiB + 7)
    assert head_blob(result.pathname).size == 3 * MiB + 7


def test_unicode_and_special_characters_in_pathnames(sdk):
    pathname = "variants/ünï cødé?#+&%.txt"
    result = put_blob(pathname, b"u", access="public")
    assert result.pathname == pathname
    assert head_blob(pathname).pathname == pathname
    assert [blob.pathname for blob in query_blobs(prefix="variants/")] == [pathname]


def test_access_must_match_the_store(sdk):
    with pytest.raises(BlobError, match="private access on a public store"):
        put_blob("wrong-access.txt", b"x", access="private")


# --- head ----------------------------------------------------------------------------------


def test_head_by_pathname_and_by_url(sdk):
    put = put_blob("h/meta.json", b'{"a": 1}', access="public")
    for target in ("h/meta.json", blob_host_url(sdk, "h/meta.json")):
        head = head_blob(target)
        assert head.pathname == "h/meta.json"
        assert head.size == 8
        assert head.etag == put.etag
        assert head.content_type == "application/json"
        assert head.cache_control == "public, max-age=2592000"
        assert head.url == put.url
        assert abs(head.uploaded_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_head_of_a_missing_blob(sdk):
    with pytest.raises(BlobNotFoundError):
        head_blob("nothing/here.txt")


# --- list ----------------------------------------------------------------------------------


def test_list_pages_with_cursors_in_pathname_order(sdk):
    names = [f"list/item-{index}.txt" for index in (3, 1, 4, 0, 2)]
    for name in names:
        put_blob(name, name.encode(), access="public")
    put_blob("other/x.txt", b"x", access="public")
    listed = list(query_blobs(prefix="list/", page_size=2))
    assert [blob.pathname for blob in listed] == sorted(names)
    assert all(isinstance(blob, ListBlob) and blob.size == len(blob.pathname) for blob in listed)
    assert sdk.request_count("list") == 3  # 2 + 2 + 1
    assert len(list(query_blobs())) == 6


def test_folded_list_gives_folders_and_direct_blobs(sdk):
    for name in ("f/a.txt", "f/b.txt", "f/sub/c.txt", "f/sub/deeper/d.txt", "f/zz/e.txt", "g/h.txt"):
        put_blob(name, b".", access="public")
    entries = list(query_blob_entries(prefix="f/", page_size=2))
    blobs = sorted(entry.pathname for entry in entries if isinstance(entry, ListBlob))
    folders = sorted(entry.prefix for entry in entries if isinstance(entry, BlobPrefix))
    assert blobs == ["f/a.txt", "f/b.txt"]
    assert folders == ["f/sub/", "f/zz/"]
    root = list(query_blob_entries())
    assert sorted(entry.prefix for entry in root if isinstance(entry, BlobPrefix)) == ["f/", "g/"]


# --- copy and delete -----------------------------------------------------------------------


def test_copy(sdk):
    source = put_blob("c/original.txt", b"copy me", access="public")
    copied = copy_blob("c/original.txt", "c/copy.md", access="public")
    assert copied.pathname == "c/copy.md"
    assert copied.content_type == "text/markdown"  # from the destination's extension, not the source
    assert head_blob("c/copy.md").etag == source.etag
    with pytest.raises(BlobError, match="This blob already exists"):
        copy_blob(blob_host_url(sdk, "c/original.txt"), "c/copy.md", access="public")
    with pytest.raises(BlobPreconditionFailedError):
        copy_blob("c/original.txt", "c/third.txt", access="public", if_match='"stale"')
    copy_blob("c/original.txt", "c/third.txt", access="public", if_match=source.etag)
    with pytest.raises(BlobNotFoundError):
        copy_blob("c/missing.txt", "c/fourth.txt", access="public")


def test_delete_batch_mixes_urls_pathnames_and_missing_blobs(sdk):
    for name in ("d/1.txt", "d/2.txt", "d/3.txt"):
        put_blob(name, b".", access="public")
    delete_blob([blob_host_url(sdk, "d/1.txt"), "d/2.txt", "d/never-existed.txt"])
    assert [blob.pathname for blob in query_blobs(prefix="d/")] == ["d/3.txt"]
    with pytest.raises(BlobPreconditionFailedError):
        delete_blob("d/3.txt", if_match='"stale"')
    delete_blob("d/3.txt", if_match=head_blob("d/3.txt").etag)
    with pytest.raises(BlobNotFoundError):
        head_blob("d/3.txt")


# --- multipart -----------------------------------------------------------------------------


def test_multipart_upload(sdk):
    first, last = b"a" * (5 * MiB), b"b" * MiB
    with multipart_upload_blob("mpu/video.mp4", access="public") as upload:
        upload.upload_part(first)
        upload.upload_part(io.BytesIO(last), content_length=len(last))
    result = upload.result
    assert result.pathname == "mpu/video.mp4"
    assert result.content_type == "video/mp4"
    assert sdk.request_count("mpu.create") == sdk.request_count("mpu.complete") == 1
    assert sdk.request_count("mpu.upload") == 2
    assert head_blob("mpu/video.mp4").size == 6 * MiB
    with stream_blob("mpu/video.mp4", access="public") as download:
        digest = hashlib.sha256()
        for chunk in download:
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(first + last).hexdigest()


# --- content -------------------------------------------------------------------------------


def test_get_public_content_from_the_blob_host(sdk):
    put_blob("g/readme.txt", b"public words", access="public", content_type="text/plain")
    result = get_blob("g/readme.txt", access="public")
    assert result.body == b"public words"
    assert result.metadata.content_type == "text/plain"
    assert result.metadata.size == 12
    assert result.metadata.content_disposition == 'inline; filename="readme.txt"'
    assert result.metadata.last_modified is not None
    content = next(request for request in sdk.requests if request.route == "content")
    assert content.headers["host"] == f"{sdk.store_id.lower()}.public.blob.vercel-storage.com"
    assert "authorization" not in content.headers  # public reads carry no token


def test_private_store_round_trip(private_sdk):
    put = put_blob("secret/plan.pdf", b"%PDF-1.7 secret", access="private")
    assert put.url.startswith(private_sdk.url_base)
    result = get_blob("secret/plan.pdf", access="private")
    assert result.body == b"%PDF-1.7 secret"
    assert head_blob("secret/plan.pdf").cache_control.startswith("private")
    content = next(request for request in private_sdk.requests if request.route == "content")
    assert content.headers["authorization"] == "***"


def test_private_content_needs_the_token(vercel_blob_private, monkeypatch):
    with _sdk(vercel_blob_private, monkeypatch):
        put_blob("secret/x.txt", b"x", access="private")
    response = requests.get(f"{vercel_blob_private.url_base}/secret/x.txt", timeout=5)
    assert response.status_code == 403
    assert b"x" not in response.content


# --- auth and errors -----------------------------------------------------------------------


def test_a_wrong_secret_is_refused(vercel_blob, monkeypatch):
    wrong = vercel_blob.token[:-3] + "zzz"
    with _sdk(vercel_blob, monkeypatch, token=wrong), pytest.raises(BlobAccessError):
        put_blob("x.txt", b"x", access="public")
    assert vercel_blob.store.count() == 0


def test_error_replies_become_the_sdks_error_classes(sdk):
    sdk.faults.fail(503, "service_unavailable", times=1)
    with pytest.raises(BlobServiceNotAvailable):
        head_blob("a.txt")
    sdk.faults.rate_limit(retry_after=7, times=1)
    with pytest.raises(BlobServiceRateLimited) as limited:
        head_blob("a.txt")
    assert limited.value.retry_after == 7
    sdk.faults.fail(403, "store_suspended", times=1)
    with pytest.raises(BlobStoreSuspendedError):
        put_blob("a.txt", b"a", access="public")
    assert sdk.store.count() == 0
