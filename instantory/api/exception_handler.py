"""The one DRF exception handler (REST_FRAMEWORK["EXCEPTION_HANDLER"]): every layer's errors as HTTP answers.

Views and services raise; no view builds an error response. Besides what DRF maps itself (its own
APIExceptions, Django's Http404 and PermissionDenied):

- UploadRejected (the upload pipeline refused a file, nothing was stored): `{<field>: [message],
  "code": code}`, the field being the view's `rejected_field(exc)` ("file" for a view without one);
  413 for a file too large, 415 for content of a type not accepted, 400 for every other refusal;
- Django's ValidationError (a model, a service or the list filters refused a value): 400 naming
  each field, `{"detail": [...]}` when the error names none;
- StorageRejected (a backend refused the request itself): 400; 413 for StorageFileTooLarge;
- StorageUnavailable (no backend holding the file answers now): 503 with Retry-After, the wait the
  service asked for when it rate-limits, else the circuit breakers' reset timeout;
- EmbedderError (a query could not be embedded): 503 with Retry-After.

Anything else is a 500, answered as JSON under /api/ by instantory.api.error_views.server_error.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from documents.embedders import EmbedderError
from storage_app.exceptions import StorageFileTooLarge, StorageRateLimited, StorageRejected, StorageUnavailable
from uploads.validation import UploadRejected

# UploadRejected codes (uploads.validation) answered with something more precise than 400.
UPLOAD_REFUSAL_STATUS = {
    "file_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}
DEFAULT_REJECTED_FIELD = "file"
# Seconds a client is asked to wait when nothing better is known (the breakers' default reset timeout).
DEFAULT_RETRY_AFTER = 30
EMBEDDER_RETRY_AFTER = 30

STORAGE_UNAVAILABLE = "The storage holding the file is unavailable; try again shortly."
STORAGE_FILE_TOO_LARGE = "The file is larger than the storage accepts."
STORAGE_REJECTED = "The storage refused the request."


class ApiError(APIException):
    """An error answered with `status_code`; `detail` is a message or a dict; `retry_after` in seconds."""

    def __init__(
        self, detail: Any, *, status_code: int, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(detail, code)
        self.status_code = status_code
        self.retry_after = retry_after


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, after our errors are turned into API errors; None (a 500) for anything unknown."""
    exc = as_api_exception(exc, view=context.get("view"))
    response = drf_exception_handler(exc, context)
    retry_after = getattr(exc, "retry_after", None)
    if response is not None and retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def as_api_exception(exc: Exception, *, view: Any = None) -> Exception:
    """The API error `exc` is answered with; `exc` itself when DRF knows it or it is a server error."""
    # UploadRejected first: it is a Django ValidationError too.
    if isinstance(exc, UploadRejected):
        field = view.rejected_field(exc) if hasattr(view, "rejected_field") else DEFAULT_REJECTED_FIELD
        return ApiError(
            {field: exc.messages, "code": exc.code},
            status_code=UPLOAD_REFUSAL_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST),
        )
    if isinstance(exc, DjangoValidationError):
        return field_errors(exc)
    if isinstance(exc, StorageUnavailable):
        return ApiError(
            STORAGE_UNAVAILABLE,
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            code="storage_unavailable",
            retry_after=storage_retry_after(exc),
        )
    if isinstance(exc, StorageFileTooLarge):
        return ApiError(
            STORAGE_FILE_TOO_LARGE, status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="file_too_large"
        )
    if isinstance(exc, StorageRejected):
        # The backend's own message may name buckets or URLs: the client gets the family's.
        return ApiError(STORAGE_REJECTED, status_code=status.HTTP_400_BAD_REQUEST, code="storage_rejected")
    if isinstance(exc, EmbedderError):
        return ApiError(
            f"Search is unavailable: the query could not be embedded ({exc}).",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            code="embedder_unavailable",
            retry_after=EMBEDDER_RETRY_AFTER,
        )
    return exc


def field_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """A model's or a selector's ValidationError as DRF's: a 400 whose body names each field."""
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def storage_retry_after(exc: StorageUnavailable) -> int:
    """Whole seconds to wait: the rate limit's own when given, else until the breakers try the backend again."""
    if isinstance(exc, StorageRateLimited) and exc.retry_after is not None:
        seconds = exc.retry_after
    else:
        seconds = getattr(settings, "STORAGE_BREAKER_RESET_TIMEOUT", DEFAULT_RETRY_AFTER)
    return max(1, math.ceil(seconds))
