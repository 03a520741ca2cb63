"""Vercel Blob failures as storage_app.exceptions, and which of them are worth another attempt.

The service's error body is `{"error": {"code", "message"}}`; like the official SDKs we decide by
`code` first (and by message text for the few errors the service only tells apart that way), then
by HTTP status. A missing blob is the builtin FileNotFoundError, as Django expects.
"""

from __future__ import annotations

import errno
import math
import os
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
import urllib3.exceptions

from storage_app.exceptions import (
    StorageAccessDenied,
    StorageConnectionError,
    StorageError,
    StorageFileExists,
    StorageFileTooLarge,
    StoragePreconditionFailed,
    StorageRateLimited,
    StorageRejected,
    StorageServiceError,
    StorageSuspended,
    StorageTimeout,
    StorageUnavailable,
)

_SERVICE_CODES = {"service_unavailable", "internal_server_error"}


def missing(pathname: str) -> FileNotFoundError:
    return FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), pathname)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `retry-after` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, math.ceil((when - datetime.now(UTC)).total_seconds()))


def _error_body(response: requests.Response) -> tuple[str, str]:
    try:
        payload = response.json()
    except ValueError:
        return "unknown_error", ""
    error = payload.get("error", payload) if isinstance(payload, dict) else {}
    if not isinstance(error, dict):
        return "unknown_error", ""
    code = error.get("code") if isinstance(error.get("code"), str) else "unknown_error"
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    return code, message


def error_from_response(response: requests.Response, *, operation: str, pathname: str, backend: str) -> BaseException:
    """The exception for a non-2xx reply to `operation` on `pathname`, raised by the backend aliased `backend`."""
    status = response.status_code
    code, message = _error_body(response)
    if "the file length cannot be greater than" in message:
        code = "file_too_large"
    what = f"Vercel Blob {operation} {pathname!r}" if pathname else f"Vercel Blob {operation}"
    detail = f"{message or response.reason or 'no message'} (HTTP {status}, {code})"

    error: StorageError
    if code in ("not_found", "blob_not_found") or (status == 404 and code == "unknown_error"):
        return missing(pathname)
    if code == "rate_limited" or status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        error = StorageRateLimited(f"{what} was rate limited: {detail}", backend=backend, retry_after=retry_after)
    elif code in ("store_suspended", "store_not_found"):
        error = StorageSuspended(f"{what}: the store is unusable: {detail}", backend=backend)
    elif status >= 500 or code in _SERVICE_CODES:
        error = StorageServiceError(f"{what} failed on the service side: {detail}", backend=backend)
    elif code == "forbidden" or status in (401, 403):
        error = StorageAccessDenied(f"{what} was refused: {detail}", backend=backend)
    elif code == "precondition_failed" or status == 412:
        error = StoragePreconditionFailed(f"{what}: the blob changed (ETag mismatch): {detail}", backend=backend)
    elif code == "file_too_large" or status == 413:
        error = StorageFileTooLarge(f"{what} is too large: {detail}", backend=backend)
    elif "already exists" in message:
        error = StorageFileExists(f"{what}: the name is taken: {detail}", backend=backend)
    else:
        error = StorageRejected(f"{what} was rejected: {detail}", backend=backend)
    error.status = status  # type: ignore[attr-defined]
    error.code = code  # type: ignore[attr-defined]
    return error


def error_from_exception(exc: BaseException, *, operation: str, pathname: str, backend: str) -> BaseException:
    """The exception for a failure below HTTP (refused, reset, timed out, cut mid-body) of the backend `backend`."""
    if isinstance(exc, StorageError | FileNotFoundError):
        return exc
    what = f"Vercel Blob {operation} {pathname!r}" if pathname else f"Vercel Blob {operation}"
    name = type(exc).__name__
    if isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return StorageTimeout(f"{what} timed out ({name})", backend=backend)
    if isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError
        | urllib3.exceptions.HTTPError
        | ConnectionError
        | OSError,
    ):
        return StorageConnectionError(f"{what} lost its connection ({name}: {_short(exc)})", backend=backend)
    return exc


def _short(exc: BaseException) -> str:
    # Exception texts of requests/urllib3 carry the URL; ours never carry credentials, keep them short.
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."


def is_retriable(exc: BaseException, *, max_delay: float) -> bool:
    """Worth another attempt: unavailable now, but not a suspended store or a wait longer than we allow."""
    if isinstance(exc, StorageSuspended):
        return False
    if isinstance(exc, StorageRateLimited):
        return exc.retry_after is None or exc.retry_after <= max_delay
    return isinstance(exc, StorageUnavailable)
