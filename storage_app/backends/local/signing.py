"""Expiring signed URLs of files on the local disk, served by storage_app.backends.local.views.

Files under LOCAL_STORAGE_ROOT are not served as static media (with DEBUG off nothing serves
`/media/`). `url()` of a LocalStorage without an explicit `base_url` therefore points at Instantory:
`/files/<alias>/<name>?expires=<unix time>&signature=<hex>`, the signature an HMAC (SHA-256, keyed
with SECRET_KEY) over the alias, the name and the expiry, as the private Vercel Blob URLs are.
"""

from __future__ import annotations

from storage_app.backends.signed_urls import UrlSigner, seconds_left

URL_NAME = "local_files:file"
INCLUDE_LINE = 'path("files/", include("storage_app.backends.local.urls"))'
# The salt is part of every URL already handed out: changing it would void them.
_SIGNER = UrlSigner(
    salt="storage_app.backends.local.storage.signed-url",
    url_name=URL_NAME,
    include_line=INCLUDE_LINE,
    what="Local file URLs",
)

signature = _SIGNER.signature
signed_url = _SIGNER.signed_url
check = _SIGNER.check

__all__ = ["INCLUDE_LINE", "URL_NAME", "check", "seconds_left", "signature", "signed_url"]
