"""storage_manager: the seed application's file API over FallbackStorage, by URL and per user.

    url = await storage_manager.store_file(user_id, file_data, filename, content_type)
    data = await storage_manager.get_file(url)            # bytes
    async for chunk in storage_manager.stream_file(url):  # constant memory
        ...
    deleted = await storage_manager.delete_file(url)      # True, or False when there was no such file

Each method has a synchronous twin (`store_file_sync`, `get_file_sync`, `iter_file_sync`,
`delete_file_sync`). The async ones run those on a thread pool of their own (at most
ASYNC_THREADS calls at once), so concurrent awaits in one event loop run concurrently; each call
uses that thread's own database connection and closes it when it returns, so none outlives it.
Called inside a transaction of the calling thread (an atomic block, whose uncommitted rows the
call must see), a call runs on that thread and connection instead, one at a time, as
asgiref's `sync_to_async` does by default.

A store goes through upload tracking like every other upload (services.uploads.upload_create,
kind `file`): the bytes are fsynced to the temporary area and an `upload_tracking` row is
committed before the promotion writes them to FallbackStorage, in this process. A process killed
mid-store leaves a row the sweep finishes; when every backend is down the row waits (pending) and
StoreDeferred names it, instead of the bytes being lost.

A user's files are stored under `users/<user_id>/<upload id>/<filename>`; `user_id` is the id of
an existing user (the tracking row's owner). A URL given back resolves through the backend
that issued it (each backend reads its own URLs, StorageBackend.name_from_url: a Vercel Blob URL,
a presigned S3 URL, an `s3://bucket/key` URL or a local `/media/...` URL) to the file's name, and
the name's location record says where the file is now, so an old URL keeps working after
reconcile moves the file. A URL that no configured backend issued, or a malformed one, raises a
StorageURLError (a ValueError); passing `user_id` refuses another user's file the same way.
"""

from __future__ import annotations

import functools
import io
import mimetypes
import re
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import connection, connections
from django.utils.text import get_valid_filename

from storage_app.backends.base import name_from_url
from storage_app.exceptions import StorageRejected, StorageUnavailable
from storage_app.fallback import Backend, FallbackStorage, default_fallback_storage
from uploads import kinds
from uploads.models import UploadKind, UploadStatus, UploadTracking
from uploads.services.uploads import upload_create
from uploads.validation import UploadRejected

USER_PREFIX = kinds.FILE.folder
CHUNK_SIZE = 256 * 1024
MAX_FILENAME_LENGTH = 255
MAX_URL_LENGTH = 8192
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_USER_ID = re.compile(r"^[1-9][0-9]{0,17}$")  # at most 18 digits: always a valid bigint
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Concurrent calls of the async API; each one holds a thread (and a database connection while it runs).
ASYNC_THREADS = 32
_pool = ThreadPoolExecutor(max_workers=ASYNC_THREADS, thread_name_prefix="storage-manager")
T = TypeVar("T")


class StorageURLError(ValueError):
    """The URL cannot be resolved to a file of this store."""


class MalformedURLError(StorageURLError):
    """Not a usable URL at all."""


class ForeignURLError(StorageURLError):
    """A well-formed URL that none of the configured backends issued."""


class NotOwnedError(StorageURLError):
    """The URL names a file of another user."""


class StoreDeferred(StorageUnavailable):
    """No backend took the file now; it is kept (tracked, pending) and stored when one is back.

    `upload_id` is its upload_tracking row: the sweep retries it, and its `permanent_name` says
    where it went once `complete`.
    """

    def __init__(self, message: str, *, upload_id: int) -> None:
        super().__init__(message)
        self.upload_id = upload_id


class StorageManager:
    def __init__(self, storage: FallbackStorage | None = None) -> None:
        self._storage = storage

    @property
    def storage(self) -> FallbackStorage:
        # Resolved per call, so the configured chain (and test overrides of it) are always current.
        return self._storage or default_fallback_storage()

    # --- synchronous API ---------------------------------------------------------------------------
    def store_file_sync(
        self, user_id: int | str, file_data: Any, filename: str, content_type: str | None = None
    ) -> str:
        """Store `file_data` (bytes or a binary file) as `filename` for the user; returns its URL.

        Refused input raises ValueError/TypeError and leaves nothing behind. StoreDeferred: no
        backend is up; the file is kept and stored later. StorageRejected: a backend refused it.
        """
        owner = _owner(user_id)
        name = _clean_filename(filename)
        content = _as_file(file_data, name)
        if content_type is None:
            content_type = mimetypes.guess_type(name)[0] or DEFAULT_CONTENT_TYPE
        storage = self.storage
        try:
            upload = upload_create(
                owner=owner,
                file=content,
                kind=UploadKind.FILE,
                filename=name,
                content_type=content_type,
                promote_now=True,
                storage=storage,
            )
        except UploadRejected as exc:
            raise ValueError(exc.message) from None
        return _stored_url(storage, upload)

    def get_file_sync(self, url: str, *, user_id: int | str | None = None) -> bytes:
        with self.open_file_sync(url, user_id=user_id) as handle:
            return handle.read()

    def iter_file_sync(
        self, url: str, *, user_id: int | str | None = None, chunk_size: int = CHUNK_SIZE
    ) -> Iterator[bytes]:
        handle = self.open_file_sync(url, user_id=user_id)
        try:
            while chunk := handle.read(chunk_size):
                yield chunk
        finally:
            handle.close()

    def open_file_sync(self, url: str, *, user_id: int | str | None = None) -> File:
        return self.storage.open(self.name_from_url(url, user_id=user_id), "rb")

    def delete_file_sync(self, url: str, *, user_id: int | str | None = None) -> bool:
        name = self.name_from_url(url, user_id=user_id)
        storage = self.storage
        if not storage.exists(name):
            return False
        storage.delete(name)
        return True

    def name_from_url(self, url: str, *, user_id: int | str | None = None) -> str:
        """The storage name a URL of one of the configured backends points at."""
        name = _resolve(self.storage.backends, url)
        if user_id is not None and not name.startswith(f"{USER_PREFIX}/{_user_segment(user_id)}/"):
            raise NotOwnedError("this URL names a file of another user")
        return name

    # --- asynchronous API (the seed's) -------------------------------------------------------------
    async def store_file(
        self, user_id: int | str, file_data: Any, filename: str, content_type: str | None = None
    ) -> str:
        return await _run(self.store_file_sync, user_id, file_data, filename, content_type)

    async def get_file(self, url: str, *, user_id: int | str | None = None) -> bytes:
        return await _run(self.get_file_sync, url, user_id=user_id)

    async def stream_file(
        self, url: str, *, user_id: int | str | None = None, chunk_size: int = CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        handle = await _run(self.open_file_sync, url, user_id=user_id)
        try:
            while chunk := await _run(handle.read, chunk_size):
                yield chunk
        finally:
            await _run(handle.close)

    async def delete_file(self, url: str, *, user_id: int | str | None = None) -> bool:
        return await _run(self.delete_file_sync, url, user_id=user_id)


async def _run(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)` off the event loop: on the pool, or on the caller's thread inside its transaction."""
    if await sync_to_async(_in_transaction)():
        return await sync_to_async(func)(*args, **kwargs)
    call = functools.partial(_with_own_connection, func, *args, **kwargs)
    return await sync_to_async(call, thread_sensitive=False, executor=_pool)()


def _in_transaction() -> bool:
    return connection.in_atomic_block


def _with_own_connection(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return func(*args, **kwargs)
    finally:
        connections.close_all()  # this pool thread's connections (they are per thread): none outlives the call


storage_manager = StorageManager()


# --- input checks ----------------------------------------------------------------------------------
def _user_segment(user_id: Any) -> str:
    """The user id as it appears in names: a positive integer, given as an int or as its digits."""
    if isinstance(user_id, bool) or not isinstance(user_id, int | str):
        raise TypeError(f"user_id must be an int or a str, not {type(user_id).__name__}")
    segment = str(user_id)
    if not _USER_ID.match(segment):
        raise ValueError("user_id must be a user's id: a positive integer")
    return segment


def _owner(user_id: Any):
    owner = get_user_model().objects.filter(pk=int(_user_segment(user_id))).first()
    if owner is None:
        raise ValueError(f"there is no user with id {user_id}")
    return owner


def _stored_url(storage: FallbackStorage, upload: UploadTracking) -> str:
    if upload.status == UploadStatus.COMPLETE:
        return storage.url(upload.permanent_name)
    if upload.status == UploadStatus.PENDING:
        raise StoreDeferred(
            f"no storage backend took the file now ({upload.last_error}); it is kept as upload {upload.pk} "
            "and stored when a backend is back",
            upload_id=upload.pk,
        )
    raise StorageRejected(f"the file was refused: {upload.last_error}")


def _clean_filename(filename: Any) -> str:
    if not isinstance(filename, str):
        raise TypeError(f"filename must be a str, not {type(filename).__name__}")
    if _CONTROL.search(filename):
        raise ValueError("filename must not contain control characters (NUL, newline, ...)")
    if "/" in filename or "\\" in filename or filename.strip() in {"", ".", ".."}:
        raise ValueError(f"filename must be a plain file name, not a path: {filename[:80]!r}")
    if len(filename) > MAX_FILENAME_LENGTH:
        raise ValueError(f"filename is {len(filename)} characters long; at most {MAX_FILENAME_LENGTH} are allowed")
    try:
        cleaned = get_valid_filename(filename)  # keeps letters (any script), digits, '-', '_' and '.'
    except SuspiciousFileOperation:
        cleaned = ""
    if cleaned.strip(".") == "":
        raise ValueError(f"filename {filename[:80]!r} has no usable characters")
    return cleaned


def _as_file(file_data: Any, name: str) -> File:
    if isinstance(file_data, str):
        raise TypeError("file_data must be bytes or a binary file, not str (encode text first)")
    if isinstance(file_data, bytes | bytearray | memoryview):
        return ContentFile(bytes(file_data), name=name)
    if isinstance(file_data, File):
        file_data.name = name
        return file_data
    if hasattr(file_data, "read"):
        if isinstance(file_data, io.TextIOBase):
            raise TypeError("file_data must be opened in binary mode")
        return File(file_data, name=name)
    raise TypeError(f"file_data must be bytes or a binary file, not {type(file_data).__name__}")


# --- URL resolution --------------------------------------------------------------------------------
def _resolve(backends: list[Backend], url: Any) -> str:
    """The name a URL of one of `backends` points at; each backend reads its own URLs (name_from_url)."""
    if not isinstance(url, str):
        raise MalformedURLError(f"a file URL must be a str, not {type(url).__name__}")
    if not url or len(url) > MAX_URL_LENGTH or _CONTROL.search(url):
        raise MalformedURLError("the file URL is empty, too long or holds control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise MalformedURLError(f"not a URL: {exc}") from None
    names = [name for backend in backends if (name := name_from_url(backend.storage, url)) is not None]
    if not names:
        if parts.scheme not in {"", "http", "https"}:
            raise ForeignURLError(f"URLs with the scheme {parts.scheme!r} are not issued by this store")
        raise ForeignURLError("this URL was not issued by any configured storage backend")
    # Of backends whose URLs nest (one prefix inside another), the longest prefix, so the shortest name, wins.
    return _checked_name(min(names, key=len))


def _checked_name(name: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or any(part in {"", ".", ".."} for part in parts) or _CONTROL.search(name):
        raise MalformedURLError("the URL's path is not a valid file name")
    return name
