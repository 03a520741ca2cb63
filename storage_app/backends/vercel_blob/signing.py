"""Expiring signed URLs for blobs of a private store, served by storage_app.backends.vercel_blob.views.

A private blob can only be read with the store's read-write token, which must never reach a
browser. `url()` of a private VercelBlobStorage therefore points at Instantory itself:
`/blobs/private/<alias>/<name>?expires=<unix time>&signature=<hex>`, where the signature is an HMAC
(SHA-256, keyed with SECRET_KEY) over the storage alias, the name and the expiry. The view checks it
and streams the blob through the storage.
"""

from __future__ import annotations

from storage_app.backends.signed_urls import UrlSigner, seconds_left

URL_NAME = "vercel_blob:private"
INCLUDE_LINE = 'path("blobs/", include("storage_app.backends.vercel_blob.urls"))'
# The salt is part of every URL already handed out: changing it would void them.
_SIGNER = UrlSigner(
    salt="storage_app.backends.vercel_blob.storage.private-url",
    url_name=URL_NAME,
    include_line=INCLUDE_LINE,
    what="Private Vercel Blob URLs",
)

signature = _SIGNER.signature
signed_url = _SIGNER.signed_url
check = _SIGNER.check

__all__ = ["INCLUDE_LINE", "URL_NAME", "check", "seconds_left", "signature", "signed_url"]
