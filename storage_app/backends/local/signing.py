"""Expiring signed URLs of files on the local disk, served by storage_app.backends.local.views.

Files under LOCAL_STORAGE_ROOT are not served as static media (with DEBUG off nothing serves
`/media/`). `url()` of a LocalStorage without an explicit `base_url` therefore points at Instantory:
`/files/<alias>/<name>?expires=<unix time>&signature=<hex>`, the signature an HMAC (SHA-256, keyed
with SECRET_KEY) over the alias, the name and the expiry, as the private Vercel Blob URLs are.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "storage_app.backends.local.storage.signed-url"
URL_NAME = "local_files:file"
INCLUDE_LINE = 'path("files/", include("storage_app.backends.local.urls"))'


def signature(alias: str, name: str, expires: int) -> str:
    # NUL cannot occur in a stored name (names.clean_name refuses it), so the fields cannot be shifted.
    return salted_hmac(_SALT, f"{alias}\x00{name}\x00{expires}", algorithm="sha256").hexdigest()


def signed_url(alias: str, name: str, ttl: int, *, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + ttl
    try:
        path = reverse(URL_NAME, kwargs={"alias": alias, "name": name})
    except NoReverseMatch:
        raise ImproperlyConfigured(
            f"Local file URLs need the signed-URL view routed: add {INCLUDE_LINE} to the URLconf"
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
