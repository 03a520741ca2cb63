"""Serving blobs of a private Vercel Blob store through expiring signed URLs.

`VercelBlobStorage.url()` of a private store returns `/blobs/private/<alias>/<name>?expires=&signature=`
(storage_app.backends.vercel_blob.signing). The signature is the capability: no login is needed,
as with a presigned S3 URL. A bad or expired signature is 403; a missing blob or an alias that is
not a private Vercel Blob storage is 404; an unreachable store is 503 with Retry-After.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.core.files.storage import InvalidStorageError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_safe

from storage_app.backends.base import storage_from_settings
from storage_app.backends.vercel_blob import signing as vercel_blob_signing
from storage_app.backends.vercel_blob.storage import VercelBlobStorage
from storage_app.exceptions import StorageUnavailable
from storage_app.responses import harden_file_response


@require_safe
def private_blob_view(request: HttpRequest, alias: str, name: str) -> HttpResponse:
    expires = request.GET.get("expires")
    if not vercel_blob_signing.check(alias, name, expires, request.GET.get("signature")):
        return HttpResponseForbidden("This link is invalid or has expired.", content_type="text/plain")
    try:
        storage = storage_from_settings(alias)  # the storage that signed the URL, under its STORAGES alias
    except InvalidStorageError:
        raise Http404("No such storage.") from None
    if not isinstance(storage, VercelBlobStorage) or storage.access != "private":
        raise Http404("No such storage.")
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None
    except StorageUnavailable:
        response = HttpResponse(
            "The storage holding this file is unavailable; try again shortly.", status=503, content_type="text/plain"
        )
        response["Retry-After"] = "30"
        return response
    response = FileResponse(
        handle,
        as_attachment=request.GET.get("download") == "1",
        filename=PurePosixPath(name).name,
        content_type=handle.content_type or None,
    )
    # Shared caches must not keep a private blob; the browser may, until the link expires.
    response["Cache-Control"] = f"private, max-age={vercel_blob_signing.seconds_left(expires)}"
    if handle.etag:
        response["ETag"] = handle.etag
    return harden_file_response(response)
