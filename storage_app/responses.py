"""Streaming a stored file to a client from whichever backend holds it, in constant memory."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.http import FileResponse, Http404
from django.utils.http import content_disposition_header

# Types a browser renders as pixels and nothing else: only these are served inline. Anything else
# (HTML, SVG, PDF, text, whatever a caller stored) is an attachment, so a stored file never runs
# script in the app's origin.
INLINE_SAFE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

# FileResponse reads 4 KiB at a time by default: one send() per 4 KiB under gunicorn. Bigger blocks
# cut the calls 64-fold and still keep a download's memory flat.
BLOCK_SIZE = 256 * 1024


def stored_file_response(
    field_file,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    as_attachment: bool = False,
) -> FileResponse:
    """A FileResponse reading `field_file` chunk by chunk; Http404 when there is no file or it is gone.

    Content-Disposition carries `filename` (RFC 6266: `filename*=utf-8''…` for non-ASCII names).
    StorageUnavailable from the backend propagates (an API answers it 503 with Retry-After).
    """
    if not field_file or not field_file.name:
        raise Http404("No file is stored here yet.")
    try:
        handle = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    response = FileResponse(
        handle,
        as_attachment=as_attachment,
        filename=filename or PurePosixPath(field_file.name).name,
        content_type=content_type or None,
    )
    response.block_size = BLOCK_SIZE
    # Owner-checked content: no shared cache may keep it.
    response["Cache-Control"] = "private, max-age=0"
    return harden_file_response(response)


def harden_file_response(response: FileResponse) -> FileResponse:
    """Every served file: `attachment` unless a known safe image type, never sniffed, sandboxed.

    `X-Content-Type-Options: nosniff` stops a browser from finding HTML in an "image"; the CSP
    `sandbox` makes even a file opened directly a unique origin without scripts.
    """
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in INLINE_SAFE_TYPES and not response.as_attachment:
        response.as_attachment = True
        response.headers["Content-Disposition"] = content_disposition_header(True, response.filename or "file")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


# For APIViews that answer with a file or a stream rather than rendered data. Content negotiation is
# forced, so a client asking for `image/png` or `text/csv` gets the file, not a 406; errors are still
# rendered with the first renderer (JSON). A comment, not a docstring: drf-spectacular would publish a
# docstring as the description of every operation of the views using it.
class StreamedResponseApiMixin:
    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)
