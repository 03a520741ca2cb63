"""A private store: url() is a signed, expiring URL of Instantory's view, which streams the blob."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from storage_app.backends.base import storage_from_settings
from storage_app.backends.vercel_blob import signing as vercel_blob_signing
from tests.peers.vercel_blob import storage_options

ALIAS = "vercel_private"


@pytest.fixture
def private(vercel_blob_private_storage, vercel_blob_private_options, settings):
    """The private storage, registered under its alias as the project would configure it."""
    settings.STORAGES = {
        **settings.STORAGES,
        ALIAS: {
            "BACKEND": "storage_app.backends.vercel_blob.storage.VercelBlobStorage",
            "OPTIONS": vercel_blob_private_options,
        },
    }
    return vercel_blob_private_storage


def stream(response) -> bytes:
    return b"".join(response.streaming_content)


def test_url_is_signed_local_and_holds_no_secret(private, vercel_blob_private):
    name = private.save("contracts/offer ü.pdf", ContentFile(b"%PDF-1.7 offer"))
    vercel_blob_private.reset_counts()
    url = private.url(name)
    assert vercel_blob_private.request_count() == 0
    parts = urlsplit(url)
    assert parts.path == "/blobs/private/vercel_private/contracts/offer%20%C3%BC.pdf"
    query = parse_qs(parts.query)
    assert set(query) == {"expires", "signature"}
    assert int(query["expires"][0]) - time.time() == pytest.approx(3600, abs=5)
    assert vercel_blob_private.token not in url
    assert vercel_blob_private.token.rsplit("_", 1)[1] not in url


def test_a_signed_url_streams_the_blob(private, client):
    payload = b"%PDF-1.7 " + b"x" * 300_000
    name = private.save("contracts/big.pdf", ContentFile(payload))
    response = client.get(private.url(name))
    assert response.status_code == 200
    assert response.streaming
    assert stream(response) == payload
    assert response["Content-Type"] == "application/pdf"
    # Not a known safe image type: an attachment, never rendered in the app's origin.
    assert response["Content-Disposition"] == 'attachment; filename="big.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"].startswith("private, max-age=")
    assert response["ETag"].startswith('"')
    download = client.get(private.url(name) + "&download=1")
    assert download["Content-Disposition"].startswith("attachment")
    assert client.head(private.url(name)).status_code == 200


@pytest.mark.parametrize(
    ("name", "data", "disposition"),
    [
        ("page.html", b"<html><script>alert(document.cookie)</script></html>", "attachment"),
        ("vector.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "attachment"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "inline"),
    ],
)
def test_a_private_blob_runs_no_script_in_the_apps_origin(private, client, name, data, disposition):
    stored = private.save(name, ContentFile(data))
    response = client.get(private.url(stored))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(disposition)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"


def test_an_expired_url_is_refused(private, client):
    name = private.save("old.txt", ContentFile(b"old"))
    expired = vercel_blob_signing.signed_url(ALIAS, name, 60, now=time.time() - 120)
    response = client.get(expired)
    assert response.status_code == 403
    assert b"old" not in response.content


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url.replace("secret.txt", "other.txt"),
        lambda url: url.replace("vercel_private", "vercel"),
        lambda url: url.replace("signature=", "signature=0"),
        lambda url: url.split("&signature=")[0],
        lambda url: url.replace("expires=", "expires=9"),
        lambda url: url.split("?")[0],
    ],
)
def test_a_tampered_url_is_refused(private, client, tamper):
    private.save("secret.txt", ContentFile(b"secret"))
    private.save("other.txt", ContentFile(b"other"))
    response = client.get(tamper(private.url("secret.txt")))
    assert response.status_code == 403


def test_a_valid_url_for_a_missing_blob_is_404(private, client):
    assert client.get(private.url("never-stored.txt")).status_code == 404


def test_only_private_vercel_storages_are_served(private, client, settings, vercel_blob_options):
    settings.STORAGES = {
        **settings.STORAGES,
        "vercel_public": {
            "BACKEND": "storage_app.backends.vercel_blob.storage.VercelBlobStorage",
            "OPTIONS": vercel_blob_options,
        },
    }
    for alias in ("vercel_public", "local", "no_such_alias"):
        url = vercel_blob_signing.signed_url(alias, "a.txt", 60)
        assert client.get(url).status_code == 404


def test_an_unreachable_store_is_503(private, client, vercel_blob_private):
    name = private.save("down.txt", ContentFile(b"d"))
    url = private.url(name)
    vercel_blob_private.faults.fail(503, routes="content")
    response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"


def test_only_get_and_head(private, client):
    private.save("m.txt", ContentFile(b"m"))
    assert client.post(private.url("m.txt")).status_code == 405


def test_url_without_the_route_says_how_to_add_it(vercel_blob_private_storage, settings):
    settings.ROOT_URLCONF = __name__  # this module: no routes at all
    with pytest.raises(
        ImproperlyConfigured, match=re.escape('path("blobs/", include("storage_app.backends.vercel_blob.urls"))')
    ):
        vercel_blob_private_storage.url("a.txt")


urlpatterns: list = []


def test_the_signed_url_names_the_storages_key_when_options_give_no_alias(settings, client, vercel_blob_private):
    settings.STORAGES = {
        **settings.STORAGES,
        "vault": {
            "BACKEND": "storage_app.backends.vercel_blob.storage.VercelBlobStorage",
            "OPTIONS": storage_options(vercel_blob_private),
        },
    }
    vault = storage_from_settings("vault")
    name = vault.save("keys/a.txt", ContentFile(b"in the vault"))
    url = vault.url(name)
    assert urlsplit(url).path == "/blobs/private/vault/keys/a.txt"
    response = client.get(url)
    assert (response.status_code, stream(response)) == (200, b"in the vault")
