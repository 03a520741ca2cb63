"""Signed links to files on the local disk: served by the app's view, refused when forged or expired."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from storage_app.backends.base import storage_from_settings
from storage_app.backends.local import signing


@pytest.fixture
def local(settings):
    settings.STORAGES = dict(settings.STORAGES)  # storages built from older settings are dropped
    return storage_from_settings("local")


def test_url_is_a_signed_link_the_view_serves(local):
    name = local.save("inventory/1/2/photo.png", ContentFile(b"\x89PNG fake bytes"))
    url = local.url(name)
    assert url.startswith(f"/files/local/{name}?")
    response = Client().get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == b"\x89PNG fake bytes"
    assert local.name_from_url(url) == name


def test_a_forged_or_expired_link_is_refused(local):
    name = local.save("a/b.txt", ContentFile(b"secret"))
    query = parse_qs(urlsplit(local.url(name)).query)
    path = f"/files/local/{name}"
    assert Client().get(path).status_code == 403
    assert Client().get(path, {"expires": query["expires"][0], "signature": "0" * 64}).status_code == 403
    other = signing.signed_url("local", "a/other.txt", 60)
    assert Client().get(path + "?" + urlsplit(other).query).status_code == 403
    expired = signing.signed_url("local", name, 60, now=time.time() - 120)
    assert Client().get(expired).status_code == 403


def test_a_missing_file_or_another_storage_is_404(local):
    assert Client().get(signing.signed_url("local", "nothing/here.txt", 60)).status_code == 404
    assert Client().get(signing.signed_url("temporary", "x.txt", 60)).status_code == 404


def test_served_files_are_hardened_like_every_other_served_file(local):
    """An HTML file is never rendered from the app's origin: attachment, nosniff, a sandboxing CSP."""
    name = local.save("users/1/2/page.html", ContentFile(b"<script>alert(1)</script>"))
    response = Client().get(local.url(name))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    photo = local.save("inventory/1/2/photo.png", ContentFile(b"\x89PNG fake bytes"))
    assert not Client().get(local.url(photo)).get("Content-Disposition", "").startswith("attachment")
