"""Serving files of the local disk through expiring signed URLs (storage_app.backends.local.signing).

The signature is the capability, as with a presigned S3 URL: no login is needed. A bad or expired
signature is 403; a missing file, or an alias that is not a LocalStorage, 404.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import InvalidStorageError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_safe

from storage_app.backends.base import storage_from_settings
from storage_app.backends.local import signing
from storage_app.backends.local.storage import LocalStorage
from storage_app.responses import harden_file_response


@require_safe
def local_file_view(request: HttpRequest, alias: str, name: str) -> HttpResponse:
    expires = request.GET.get("expires")
    if not signing.check(alias, name, expires, request.GET.get("signature")):
        return HttpResponseForbidden("This link is invalid or has expired.", content_type="text/plain")
    try:
        storage = storage_from_settings(alias)  # the storage that signed the URL, under its STORAGES alias
    except InvalidStorageError:
        raise Http404("No such storage.") from None
    if not isinstance(storage, LocalStorage):
        raise Http404("No such storage.")
    try:
        handle = storage.open(name, "rb")
    except (FileNotFoundError, IsADirectoryError, SuspiciousFileOperation):
        raise Http404("No such file.") from None
    filename = PurePosixPath(name).name
    response = FileResponse(
        handle,
        as_attachment=request.GET.get("download") == "1",
        filename=filename,
        content_type=mimetypes.guess_type(filename)[0] or "application/octet-stream",
    )
    response["Cache-Control"] = f"private, max-age={signing.seconds_left(expires)}"
    return harden_file_response(response)  # attachment unless a safe image, nosniff, CSP sandbox
