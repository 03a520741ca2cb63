"""Expiring signed URLs to files Instantory serves itself (a private Vercel Blob store, the local disk).

`/<prefix>/<alias>/<name>?expires=<unix time>&signature=<hex>`: the signature is an HMAC (SHA-256,
keyed with SECRET_KEY, salted per backend) over the storage alias, the name and the expiry; the
backend's view checks it and streams the file through the storage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import constant_time_compare, salted_hmac


@dataclass(frozen=True)
class UrlSigner:
    salt: str
    url_name: str  # the serving view's URL name, with its namespace
    include_line: str  # what the URLconf needs, said when it is missing
    what: str  # what the URLs are, for that message ("Local file URLs")

    def signature(self, alias: str, name: str, expires: int) -> str:
        # NUL cannot occur in a stored name (names.clean_name refuses it), so the fields cannot be shifted.
        return salted_hmac(self.salt, f"{alias}\x00{name}\x00{expires}", algorithm="sha256").hexdigest()

    def signed_url(self, alias: str, name: str, ttl: int, *, now: float | None = None) -> str:
        expires = int(now if now is not None else time.time()) + ttl
        try:
            path = reverse(self.url_name, kwargs={"alias": alias, "name": name})
        except NoReverseMatch:
            raise ImproperlyConfigured(
                f"{self.what} need the signed-URL view routed: add {self.include_line} to the URLconf"
            ) from None
        return f"{path}?{urlencode({'expires': expires, 'signature': self.signature(alias, name, expires)})}"

    def check(self, alias: str, name: str, expires: str | None, given: str | None, *, now: float | None = None) -> bool:
        """True when `given` signs (alias, name, expires) and `expires` is still in the future."""
        if not expires or not given or not expires.isdigit() or len(expires) > 12:
            return False
        if int(expires) < (now if now is not None else time.time()):
            return False
        return constant_time_compare(self.signature(alias, name, int(expires)), given)


def seconds_left(expires: str, *, now: float | None = None) -> int:
    return max(0, int(expires) - int(now if now is not None else time.time()))
