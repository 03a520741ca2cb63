"""Errors of the storage layer, shared by every backend.

The fallback layer moves on to the next backend only for the StorageUnavailable family (the store
cannot be reached or is refusing service for now). A StorageRejected error is about the request
itself (bad name, forbidden, precondition, too large) and would fail the same way anywhere, so it
is raised to the caller. A missing file is the builtin FileNotFoundError, as Django expects.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every storage-layer error. `backend` names the backend alias when known."""

    def __init__(self, message: str, *, backend: str | None = None) -> None:
        super().__init__(message)
        self.backend = backend


class StorageUnavailable(StorageError):
    """The backend cannot serve now; another backend may. Circuit breakers count these."""


class StorageConnectionError(StorageUnavailable):
    """Connection refused, reset or cut mid-body."""


class StorageTimeout(StorageUnavailable):
    """Connect or read timeout."""


class StorageServiceError(StorageUnavailable):
    """The service answered 5xx or said it is unavailable."""


class StorageRateLimited(StorageUnavailable):
    """Too many requests; `retry_after` seconds when the service said so."""

    def __init__(self, message: str, *, backend: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, backend=backend)
        self.retry_after = retry_after


class StorageSuspended(StorageUnavailable):
    """The store is suspended (or does not exist): nothing will work there until an operator acts."""


class StorageRejected(StorageError):
    """The backend refused this request for a reason that names its cause; retrying elsewhere won't help."""


class StorageAccessDenied(StorageRejected):
    """Credentials refused."""


class StoragePreconditionFailed(StorageRejected):
    """A conditional write (ETag) did not match."""


class StorageFileExists(StorageRejected):
    """The name is taken and overwriting was not allowed."""


class StorageFileTooLarge(StorageRejected):
    """The file is larger than the backend accepts."""
