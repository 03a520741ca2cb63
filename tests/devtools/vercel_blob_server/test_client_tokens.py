"""The local server's client-upload side: signed tokens, CORS for pages, replies in the real URL form."""

from __future__ import annotations

import base64
import json

import httpx2
import requests
from vercel.api import session
from vercel.blob.sync import SyncBlobServiceOptions, get_blob, head_blob, put_blob

from devtools.vercel_blob_server import VercelBlobServer
from tests.devtools.vercel_blob_server.test_sdk_fidelity import BlobHostToLocalServer
from tests.peers.vercel_blob import PUBLIC_TOKEN


def test_issue_signed_token_answers_a_delegation_for_the_store(vercel_blob):
    response = requests.post(
        f"{vercel_blob.api_url}/signed-token",
        json={"pathname": "a/*", "operations": ["put", "get"]},
        headers={"authorization": f"Bearer {vercel_blob.token}"},
        timeout=5,
    )
    body = response.json()
    assert response.status_code == 200, body
    head = body["delegationToken"].split(".")[0]
    delegation = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    assert delegation["storeId"] == vercel_blob.store_id
    assert delegation["operations"] == ["put", "get"]
    assert body["validUntil"] == delegation["validUntil"]
    assert body["clientSigningToken"]
    refused = requests.post(f"{vercel_blob.api_url}/signed-token", json={}, timeout=5)
    assert refused.json()["error"]["code"] == "forbidden"


def test_a_pages_preflight_and_replies_carry_cors_headers(vercel_blob):
    preflight = requests.options(
        f"{vercel_blob.api_url}/?pathname=a.txt",
        headers={"Origin": "http://localhost:8000", "Access-Control-Request-Headers": "authorization,x-content-type"},
        timeout=5,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Headers"] == "authorization,x-content-type"
    reply = requests.get(vercel_blob.api_url, headers={"Origin": "http://localhost:8000"}, timeout=5)
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


def test_with_real_urls_the_official_python_sdk_reads_what_it_put(tmp_path, monkeypatch):
    with VercelBlobServer(token=PUBLIC_TOKEN, data_dir=tmp_path, real_urls=True) as server:
        monkeypatch.setenv("BLOB_READ_WRITE_TOKEN", server.token)
        monkeypatch.setenv("VERCEL_BLOB_API_URL", server.api_url)
        monkeypatch.setenv("VERCEL_BLOB_RETRIES", "0")
        for name in ("VERCEL_OIDC_TOKEN", "BLOB_STORE_ID", "VERCEL_BLOB_READ_WRITE_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        with session(
            service_options=[SyncBlobServiceOptions()],
            httpx_client_factory=lambda: httpx2.Client(transport=BlobHostToLocalServer(server.port)),
        ):
            put = put_blob("notes/readme.txt", b"hello blob", access="public")
            assert put.url == "https://teststore123.public.blob.vercel-storage.com/notes/readme.txt"
            assert get_blob(put.url, access="public").body == b"hello blob"  # the SDK's README example
            assert head_blob(put.url).size == 10
