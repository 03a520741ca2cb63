"""Presigned S3 URLs fetched over HTTP from the real server (nanio checks the SigV4 query signature).

The storage contract only checks the URL's shape, since a local store's URL is a path the app
serves; for S3 the URL itself is the credential, so here it is used: it must return the object's
bytes, and a URL that was altered, has expired or was signed with another secret must be refused.
"""

import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from django.core.files.base import ContentFile

PAYLOAD = bytes(range(256)) * 16


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_presigned_url_serves_the_object(s3_peer):
    storage = s3_peer.storage()
    name = storage.save("shop/price list ü.bin", ContentFile(PAYLOAD))
    url = storage.url(name)
    assert url.startswith(f"{s3_peer.server.endpoint}/{s3_peer.bucket}/shop/price%20list%20%C3%BC.bin?")
    assert "X-Amz-Signature=" in url
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == PAYLOAD


def test_a_presigned_url_under_a_location_prefix_serves_the_object(s3_peer):
    storage = s3_peer.storage(location="media/files")
    name = storage.save("a.txt", ContentFile(b"under a prefix"))
    response = requests.get(storage.url(name), timeout=10)
    assert (response.status_code, response.content) == (200, b"under a prefix")
    assert s3_peer.keys() == ["media/files/a.txt"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda url: url.replace("a.txt?", "b.txt?"), id="other-key"),
        pytest.param(lambda url: with_query(url, **{"X-Amz-Signature": "0" * 64}), id="forged-signature"),
        pytest.param(lambda url: with_query(url, **{"X-Amz-Expires": "604800"}), id="longer-expiry"),
        pytest.param(lambda url: url.split("?", 1)[0], id="unsigned"),
    ],
)
def test_an_altered_url_is_refused(s3_peer, tamper):
    storage = s3_peer.storage()
    storage.save("a.txt", ContentFile(b"secret price list"))
    storage.save("b.txt", ContentFile(b"another file"))
    response = requests.get(tamper(storage.url("a.txt")), timeout=10)
    assert response.status_code == 403
    assert b"secret price list" not in response.content
    assert b"another file" not in response.content


def test_a_url_signed_with_another_secret_is_refused(s3_peer):
    s3_peer.storage().save("a.txt", ContentFile(b"x"))
    wrong = s3_peer.storage(secret_key="not-the-secret")
    assert requests.get(wrong.url("a.txt"), timeout=10).status_code == 403


def test_an_expired_url_is_refused(s3_peer):
    storage = s3_peer.storage()
    storage.save("a.txt", ContentFile(b"x"))
    url = storage.url("a.txt", expire=1)
    assert requests.get(url, timeout=10).status_code == 200
    time.sleep(2.1)  # past X-Amz-Expires: the server, not the client, decides
    assert requests.get(url, timeout=10).status_code == 403


def test_the_expiry_comes_from_aws_querystring_expire(s3_peer, settings):
    settings.AWS_QUERYSTRING_EXPIRE = 120
    url = s3_peer.storage().url("a.txt")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["120"]
