"""FallbackStorage: one Django storage over an ordered chain of backends (Vercel Blob, S3, local).

- A write goes to the first backend that takes it. An outage (the StorageUnavailable family) moves
  on to the next backend; a client error (StorageRejected) is raised at once, since it would fail
  the same way anywhere.
- Each file's backend is recorded in a StoredFile row (as Rails Active Storage records a blob's
  `service_name`), so reads, url(), size() and deletes go straight to that backend; a file keeps
  its name wherever it lives. The name is reserved in the record before the object is written, so
  two writers never share a name and a write a crash interrupted is found again (reconcile).
- A circuit breaker per backend (storage_app.breakers) skips a backend after repeated outages.
- A delete makes the file unreadable at once; if a backend holding a copy is down, the record
  stays (state `deleting`) until reconcile removes the copy.
- Names are checked like the backends check them (storage_app.backends.names) before any record
  is read or written; `exists()`, `listdir()` and free names come from the records alone.

Order: STORAGE_BACKEND first, then the others in the order vercel, s3, local, each taken from the
STORAGES alias of the same name; a backend that is not configured (no token, no bucket) is left
out with one warning per process. Tests may pass an explicit list of (alias, storage) instead.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.files.utils import validate_file_name
from django.utils.deconstruct import deconstructible

from storage_app import locations
from storage_app.backends.names import check_save_arguments, clean_name
from storage_app.breakers import BreakerRegistry, CircuitBreaker, process_breakers
from storage_app.exceptions import StorageError, StorageRejected, StorageUnavailable
from storage_app.models import StoredFileState

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_ORDER = ("vercel", "s3", "local")
HASH_CHUNK = 1024 * 1024
SPOOL_MAX_MEMORY = 2 * 1024 * 1024
MAX_NAME_ATTEMPTS = 20
MAX_NAME_LENGTH = 1024  # StoredFile.name

_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


@dataclass
class Backend:
    """One link of the chain: its STORAGES alias, its storage and its circuit breaker."""

    alias: str
    storage: Storage
    breaker: CircuitBreaker

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return self.breaker.call(func, *args, **kwargs)
        except StorageError as exc:
            if exc.backend is None:
                exc.backend = self.alias
            raise


def configured_order() -> list[str]:
    primary = settings.STORAGE_BACKEND
    return [primary, *(alias for alias in DEFAULT_ORDER if alias != primary)]


def load_backend(alias: str) -> tuple[Storage | None, str]:
    """The storage of a STORAGES alias, or None with the reason it is left out (never a secret)."""
    if alias not in settings.STORAGES:
        return None, f"no STORAGES[{alias!r}] entry"
    try:
        storage = storages[alias]
    except (ImproperlyConfigured, ImportError) as exc:
        return None, f"cannot be loaded ({type(exc).__name__}: {exc})"
    # An instance knows best (its OPTIONS may carry the token); otherwise ask the class's settings check.
    configured = getattr(storage, "configured", None)
    if not isinstance(configured, bool):
        is_configured = getattr(storage, "is_configured", None)
        configured = bool(is_configured()) if callable(is_configured) else True
    if not configured:
        hint = {"vercel": "no BLOB_READ_WRITE_TOKEN", "s3": "no AWS_STORAGE_BUCKET_NAME"}.get(alias, "not configured")
        return None, hint
    return storage, ""


def default_fallback_storage() -> FallbackStorage:
    """The FallbackStorage behind STORAGES["default"], or one over the configured chain if default is another."""
    storage = storages["default"]
    return storage if isinstance(storage, FallbackStorage) else FallbackStorage()


def _warn_once(alias: str, reason: str) -> None:
    with _warned_lock:
        if (alias, reason) in _warned:
            return
        _warned.add((alias, reason))
    logger.warning("storage backend %s is left out of the fallback chain: %s", alias, reason)


@deconstructible
class FallbackStorage(Storage):
    def __init__(
        self,
        backends: Sequence[tuple[str, Storage]] | None = None,
        *,
        breakers: BreakerRegistry | None = None,
        allow_overwrite: bool = False,
    ) -> None:
        self.allow_overwrite = allow_overwrite
        self._explicit = list(backends) if backends is not None else None
        # An explicit chain (tests) gets breakers of its own; the configured chain shares the process's.
        self._breakers = breakers or (BreakerRegistry() if backends is not None else process_breakers)
        self._chain: list[Backend] | None = None
        self._left_out: dict[str, str] = {}
        self._chain_lock = threading.Lock()

    # --- the chain ---------------------------------------------------------------------------------
    @property
    def backends(self) -> list[Backend]:
        if self._chain is None:
            with self._chain_lock:
                if self._chain is None:
                    self._chain = self._build_chain()
        return self._chain

    def _build_chain(self) -> list[Backend]:
        chain: list[Backend] = []
        if self._explicit is not None:
            for alias, storage in self._explicit:
                chain.append(Backend(alias, storage, self._breakers.get(alias)))
        else:
            for alias in configured_order():
                storage, reason = load_backend(alias)
                if storage is None:
                    self._left_out[alias] = reason
                    _warn_once(alias, reason)
                    continue
                chain.append(Backend(alias, storage, self._breakers.get(alias)))
        if not chain:
            raise ImproperlyConfigured("no storage backend is configured (vercel, s3 and local are all left out)")
        return chain

    @property
    def left_out(self) -> dict[str, str]:
        """Aliases of the configured order that are not in the chain, with the reason."""
        self.backends  # noqa: B018 - builds the chain
        return dict(self._left_out)

    @property
    def primary(self) -> Backend:
        return self.backends[0]

    @property
    def breakers(self) -> BreakerRegistry:
        return self._breakers

    def backend(self, alias: str) -> Backend:
        for backend in self.backends:
            if backend.alias == alias:
                return backend
        raise StorageUnavailable(f"storage backend {alias!r} is not configured in this process", backend=alias)

    def _name(self, name: object, *, allow_empty: bool = False) -> str:
        """The normalized name, or SuspiciousFileOperation/TypeError before anything is looked up."""
        return clean_name(name, max_length=MAX_NAME_LENGTH, allow_empty=allow_empty)

    def backend_of(self, name: str) -> str:
        """The alias of the backend where `name` lives, from its location record."""
        name = self._name(name)
        record = locations.location_get(name, states=(StoredFileState.STORED, StoredFileState.WRITING))
        if record is None:
            raise FileNotFoundError(f"no stored file is named {name!r}")
        return record.backend

    def _locate(self, name: str) -> tuple[str, Backend]:
        name = self._name(name)
        record = locations.location_get(name)
        if record is None:
            raise FileNotFoundError(f"no stored file is named {name!r}")
        return record.name, self.backend(record.backend)

    # --- writing -----------------------------------------------------------------------------------
    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        check_save_arguments(name, content)
        if name is None:
            name = content.name
        name = self._name(name)
        if not hasattr(content, "chunks"):
            content = File(content, name)
        validate_file_name(name, allow_relative_path=True)
        name = self.get_available_name(name, max_length=max_length)
        validate_file_name(name, allow_relative_path=True)
        name = self._save(name, content, max_length=max_length)
        validate_file_name(name, allow_relative_path=True)
        return name

    def _save(self, name: str, content: Any, max_length: int | None = None) -> str:
        if self.allow_overwrite and locations.location_taken(name):
            self.delete(name)
            if locations.location_taken(name):
                raise StorageUnavailable(f"{name!r} cannot be replaced now: a backend holding its old copy is down")
        payload = _Payload(content)
        try:
            failures: list[str] = []
            for backend in self.backends:
                if backend.breaker.is_open():
                    failures.append(f"{backend.alias}: circuit breaker open")
                    continue
                record = self._reserve(name, backend.alias, max_length)
                name = record.name
                payload.rewind()
                try:
                    stored = backend.call(backend.storage.save, name, payload.file, max_length=max_length)
                except StorageUnavailable as exc:
                    locations.location_release(record)
                    failures.append(f"{backend.alias}: {type(exc).__name__}: {exc}")
                    logger.warning("save of %s: %s unavailable (%s), trying the next backend", name, backend.alias, exc)
                    continue
                except BaseException:
                    locations.location_release(record)
                    raise
                self._finish(backend, record, stored, payload)
                return stored
            raise StorageUnavailable(f"no storage backend accepted {name!r}: " + "; ".join(failures))
        finally:
            payload.close()

    def _reserve(self, name: str, alias: str, max_length: int | None):
        for _ in range(MAX_NAME_ATTEMPTS):
            record = locations.location_reserve(name, alias)
            if record is not None:
                return record
            name = self.get_available_name(name, max_length=max_length)  # taken meanwhile by another writer
        raise StorageRejected(f"no free name found for {name!r}")

    def _finish(self, backend: Backend, record, stored: str, payload: _Payload) -> None:
        try:
            if stored != record.name:
                logger.info("%s stored %s as %s (the name was taken there)", backend.alias, record.name, stored)
            if locations.location_finish(record, name=stored, size=payload.size, checksum=payload.checksum):
                return
            raise StorageError(f"the write of {record.name!r} was cancelled by a concurrent delete", backend=None)
        except BaseException:
            # The record could not say where the object is: remove the object rather than leave it unknown.
            try:
                backend.call(backend.storage.delete, stored)
                locations.location_release(record)
            except Exception as cleanup_error:
                logger.error(
                    "%s on %s has no location record and could not be removed (%s); reconcile will clear it",
                    stored,
                    backend.alias,
                    cleanup_error,
                )
            raise

    def is_name_available(self, name: str, max_length: int | None = None) -> bool:
        # The records know every name in use on every backend: no backend is asked.
        if max_length and len(name) > max_length:
            return False
        return self.allow_overwrite or not locations.location_taken(name)

    # --- reading -----------------------------------------------------------------------------------
    def _open(self, name: str, mode: str = "rb") -> File:
        if any(flag in mode for flag in "wax+"):
            raise ValueError("FallbackStorage opens files for reading only; write with save()")
        stored, backend = self._locate(name)
        return backend.call(backend.storage.open, stored, mode)

    def exists(self, name: str) -> bool:
        """Whether a readable file of this name is stored (on whichever backend)."""
        return locations.location_get(self._name(name)) is not None

    def size(self, name: str) -> int:
        stored, backend = self._locate(name)
        return backend.call(backend.storage.size, stored)

    def url(self, name: str, *args: Any, **kwargs: Any) -> str:
        name = self._name(name)
        record = locations.location_get(
            name, states=(StoredFileState.STORED, StoredFileState.WRITING, StoredFileState.DELETING)
        )
        # A name with no record gets the URL it would have on the primary, as Django's storages do.
        backend = self.backend(record.backend) if record else self.primary
        return backend.storage.url(record.name if record else name, *args, **kwargs)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return locations.locations_listdir(self._name(path or "", allow_empty=True))

    def get_modified_time(self, name: str) -> datetime:
        stored, backend = self._locate(name)
        return backend.call(backend.storage.get_modified_time, stored)

    def get_created_time(self, name: str) -> datetime:
        stored, backend = self._locate(name)
        return backend.call(backend.storage.get_created_time, stored)

    def get_accessed_time(self, name: str) -> datetime:
        stored, backend = self._locate(name)
        return backend.call(backend.storage.get_accessed_time, stored)

    def path(self, name: str) -> str:
        stored, backend = self._locate(name)
        return backend.storage.path(stored)

    # --- deleting ----------------------------------------------------------------------------------
    def delete(self, name: str) -> None:
        """Make the file unreadable now and remove its objects; a copy on a down backend is removed later."""
        record = locations.location_mark_deleting(self._name(name))
        if record is not None:
            self.purge(record)

    def purge(self, record) -> list[str]:
        """Delete every object of a deleting record; returns the backends still holding one."""
        remaining: list[str] = []
        error: BaseException | None = None
        for alias in locations.location_targets(record):
            try:
                backend = self.backend(alias)
                backend.call(backend.storage.delete, record.name)
            except StorageUnavailable as exc:
                logger.warning("delete of %s on %s deferred: %s", record.name, alias, exc)
                remaining.append(alias)
            except Exception as exc:  # a refusal (e.g. access denied): kept for a retry, reported to the caller
                remaining.append(alias)
                error = error or exc
        locations.location_purged(record, remaining=remaining)
        if error is not None:
            raise error
        return remaining


class _Payload:
    """The content of one save: seekable (spooled if it was not), hashed as the backend reads it.

    The SHA-256 the record keeps (for reconcile to verify copies) is taken from the bytes the backend
    reads, so a save that sends its content in order reads it once; a backend that reads out of order
    (parallel multipart parts) hands the hashing to a thread that reads the content alongside it. A
    failed attempt starts again from the first byte on the next backend.
    """

    def __init__(self, content: Any) -> None:
        self._spool: tempfile.SpooledTemporaryFile | None = None
        source = content
        if not _seekable(content) or _is_text(content):
            # Text is stored as UTF-8 bytes, so positions and sizes count bytes, not characters.
            # Closed by close(), once every backend attempt is over.
            self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115
            for chunk in content.chunks():
                self._spool.write(chunk.encode() if isinstance(chunk, str) else chunk)
            source = File(self._spool, name=getattr(content, "name", None))
        self._source = source
        self._hashing = _HashingReader(source)
        self.file = File(self._hashing, name=getattr(content, "name", None))
        for attribute in ("content_type", "charset", "content_type_extra"):
            if getattr(content, attribute, None) is not None:
                setattr(self.file, attribute, getattr(content, attribute))
        self.rewind()

    def rewind(self) -> None:
        self.file.seek(0)

    @property
    def size(self) -> int:
        return self._hashing.total_size()

    @property
    def checksum(self) -> str:
        return self._hashing.hexdigest()

    def close(self) -> None:
        self._hashing.stop()  # before the spool goes: the hashing thread may still be reading it
        if self._spool is not None:
            self._spool.close()


class _HashingReader:
    """A seekable stream that hashes its content as it is read.

    Reads in order (and re-reads of a retry) extend the digest on the reading thread. The first read
    that skips ahead leaves a gap no later in-order read can fill, so from then on a thread of its own
    reads the rest of the content and hashes it while the backend goes on sending: the hashing costs
    no time on the save's path (hashlib and reads release the interpreter lock). The content does not
    change during a save.
    """

    def __init__(self, source: Any) -> None:
        self._source = source
        self._lock = threading.Lock()  # one position: every seek+read of the source happens under it
        self._digest = hashlib.sha256()
        self._hashed = 0  # bytes [0, _hashed) are in the digest
        self._handed_off = False  # once True, only _hash_the_rest touches the digest
        self._catch_up: threading.Thread | None = None
        self._stopping = threading.Event()
        self._error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        with self._lock:
            start = self._source.tell()
            data = self._source.read(size)
            if isinstance(data, str):
                data = data.encode()
            if not self._handed_off:
                if start <= self._hashed < start + len(data):
                    self._digest.update(memoryview(data)[self._hashed - start :])
                    self._hashed = start + len(data)
                elif start > self._hashed:
                    self._start_catch_up()
            return data

    def _start_catch_up(self) -> None:
        """From now on the thread owns the digest; readers only read (called under the lock)."""
        self._handed_off = True
        self._catch_up = threading.Thread(target=self._hash_the_rest, name="storage-save-sha256", daemon=True)
        self._catch_up.start()

    def _hash_the_rest(self) -> None:
        try:
            while not self._stopping.is_set():
                chunk = self._read_at(self._hashed, HASH_CHUNK)
                if not chunk:
                    return
                self._digest.update(chunk)
                self._hashed += len(chunk)
        except BaseException as exc:  # re-raised by hexdigest() on the save's thread
            self._error = exc

    def _read_at(self, offset: int, size: int) -> bytes:
        with self._lock:
            position = self._source.tell()
            self._source.seek(offset)
            data = self._source.read(size)
            self._source.seek(position)
        return data.encode() if isinstance(data, str) else data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with self._lock:
            self._source.seek(offset, whence)
            return self._source.tell()

    def tell(self) -> int:
        return self._source.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Closing is the save's business (_Payload.close), not the backend's."""

    @property
    def closed(self) -> bool:
        return False

    def total_size(self) -> int:
        with self._lock:
            position = self._source.tell()
            self._source.seek(0, io.SEEK_END)
            size = self._source.tell()
            self._source.seek(position)
            return size

    def hexdigest(self) -> str:
        """The SHA-256 of the whole content; whatever no read covered is read here."""
        with self._lock:
            handed_off, self._handed_off = self._handed_off, True
        if not handed_off:
            self._hash_the_rest()  # only what the backend did not read
        elif self._catch_up is not None:
            self._catch_up.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()

    def stop(self) -> None:
        self._stopping.set()
        if self._catch_up is not None:
            self._catch_up.join()


def _is_text(content: Any) -> bool:
    return isinstance(getattr(content, "file", content), io.TextIOBase)


def _seekable(content: Any) -> bool:
    seekable = getattr(content, "seekable", None)
    if callable(seekable):
        try:
            return bool(seekable())
        except (ValueError, io.UnsupportedOperation):
            return False
    try:
        content.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False
    return True
