"""Expiring signed URLs for blobs of a private store, served by storage_app.backends.vercel_blob.views.

A private blob can only be read with the store's read-write token, which must never reach a
browser. `url()` of a private VercelBlobStorage therefore points at Instantory itself:
`/blobs/private/<alias>/<name>?expires=<unix time>&signature=<hex>`, where the signature is an HMAC
(SHA-256, keyed with SECRET_KEY) over the storage alias, the name and the expiry. The view checks it
and streams the blob through the storage.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "storage_app.backends.vercel_blob.storage.private-url"
URL_NAME = "vercel_blob:private"
INCLUDE_LINE = 'path("blobs/", include("storage_app.backends.vercel_blob.urls"))'


def signature(alias: str, name: str, expires: int) -> str:
    # NUL cannot occur in a stored name (names.clean_name refuses it), so the fields cannot be shifted.
    return salted_hmac(_SALT, f"{alias}\x00{name}\x00{expires}", algorithm="sha256").hexdigest()


def signed_url(alias: str, name: str, ttl: int, *, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + ttl
    try:
        path = reverse(URL_NAME, kwargs={"alias": alias, "name": name})
    except NoReverseMatch:
        raise ImproperlyConfigured(
            f"Private Vercel Blob URLs need the signed-URL view routed: add {INCLUDE_LINE} to the URLconf"
        ) from None
    return f"{path}?{urlencode({'expires': expires, 'signature': signature(alias, name, expires)})}"


def check(alias: str, name: str, expires: str | None, given: str | None, *, now: float | None = None) -> bool:
    """True when `given` signs (alias, name, expires) and `expires` is still in the future."""
    if not expires or not given or not expires.isdigit() or len(expires) > 12:
        return False
    if int(expires) < (now if now is not None else time.time()):
        return False
    return constant_time_compare(signature(alias, name, int(expires)), given)


def seconds_left(expires: str, *, now: float | None = None) -> int:
    return max(0, int(expires) - int(now if now is not None else time.time()))
