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

Order: `STORAGES["default"]["OPTIONS"]["backends"]`, a list of STORAGES aliases; without it,
STORAGE_BACKEND first, then the others of DEFAULT_ORDER (vercel, s3, local). Each backend is built
from its STORAGES entry with its alias (storage_app.backends.base.storage_from_settings), the one
name it has in records, breakers, errors, health and logs. A backend that is not configured is
left out with the reason it gives (`not_configured_reason`: no token, no bucket), one warning per
process. Tests may pass an explicit list of (alias, storage) pairs instead.
"""

from __future__ import annotations

import logging
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
from django.db import transaction
from django.utils.deconstruct import deconstructible

from storage_app import attempts, locations, metrics, replication_queue
from storage_app.backends.base import StorageBackend, not_configured_reason, storage_from_settings
from storage_app.backends.names import check_save_arguments, clean_name
from storage_app.breakers import BreakerRegistry, CircuitBreaker, process_breakers
from storage_app.exceptions import StorageError, StorageRejected, StorageUnavailable
from storage_app.models import StoredFileState
from storage_app.payload import Payload

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_ORDER = ("vercel", "s3", "local")
MAX_NAME_ATTEMPTS = 20
MAX_NAME_LENGTH = 1024  # StoredFile.name

_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


@dataclass
class Backend:
    """One link of the chain: its STORAGES alias, its storage and its circuit breaker.

    `has_next`: a later backend of the chain can take over, so a call fails fast here
    (storage_app.attempts): no retry of a refused connection or a timeout, bounded waits.
    """

    alias: str
    storage: Storage
    breaker: CircuitBreaker
    has_next: bool = False

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self.call_scoped(self.has_next, func, *args, **kwargs)

    def call_scoped(self, fail_fast: bool, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`func` through the breaker; within a failover scope when `fail_fast`, with the full retry policy if not."""
        scope = attempts.failover_attempt() if fail_fast else attempts.full_attempt()
        try:
            with scope, metrics.backend_call(self.alias, func):  # requests, errors, latency per backend
                return self.breaker.call(func, *args, **kwargs)
        except StorageError as exc:
            if exc.backend is None:
                exc.backend = self.alias
            raise


def configured_order() -> list[str]:
    """The order without a `backends` option: STORAGE_BACKEND first, then the others of DEFAULT_ORDER."""
    primary = settings.STORAGE_BACKEND
    return [primary, *(alias for alias in DEFAULT_ORDER if alias != primary)]


def load_backend(alias: str) -> tuple[Storage | None, str]:
    """The storage of a STORAGES alias, or None with the reason it is left out (never a secret)."""
    if alias not in settings.STORAGES:
        return None, f"no STORAGES[{alias!r}] entry"
    try:
        storage = storage_from_settings(alias)
    except (ImproperlyConfigured, ImportError) as exc:
        return None, f"cannot be loaded ({type(exc).__name__}: {exc})"
    if isinstance(storage, FallbackStorage):
        raise ImproperlyConfigured(f"STORAGES[{alias!r}] is a FallbackStorage: it cannot be a backend of another")
    reason = not_configured_reason(storage)
    if reason:
        return None, reason
    return storage, ""


def default_fallback_storage() -> FallbackStorage:
    """The FallbackStorage behind STORAGES["default"], or one over the configured chain if default is another."""
    storage = storages["default"]
    return storage if isinstance(storage, FallbackStorage) else FallbackStorage()


def _chain_spec(backends: Any) -> tuple[list[str] | None, list[tuple[str, Storage]] | None]:
    """(aliases, None), (None, pairs) or (None, None) from the `backends` argument, or ImproperlyConfigured."""
    if backends is None:
        return None, None
    if isinstance(backends, str):
        raise ImproperlyConfigured(f"backends must be a list of STORAGES aliases, not the string {backends!r}")
    items = list(backends)
    if not items:
        raise ImproperlyConfigured("backends is empty: name at least one STORAGES alias")
    if all(isinstance(item, str) and item for item in items):
        aliases, pairs = items, None
    elif all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in items):
        aliases, pairs = [alias for alias, _ in items], items
    else:
        raise ImproperlyConfigured("backends must be a list of STORAGES aliases, or of (alias, storage) pairs")
    duplicates = sorted({alias for alias in aliases if aliases.count(alias) > 1})
    if duplicates:
        raise ImproperlyConfigured(f"backends names {', '.join(map(repr, duplicates))} more than once")
    if pairs is None:
        if "default" in aliases:
            raise ImproperlyConfigured("backends cannot name 'default': it is the FallbackStorage itself")
        return aliases, None
    for alias, storage in pairs:
        if isinstance(storage, StorageBackend) and storage.alias != alias:
            raise ImproperlyConfigured(
                f"the chain names {alias!r} a {type(storage).__name__} whose alias is {storage.alias!r}: "
                f"build it with alias={alias!r}, so its errors, records and breaker agree"
            )
    return None, pairs


def _save_function(storage: Storage) -> Callable[..., str]:
    """How the chain saves on a backend under a name its record has reserved.

    An Instantory backend is asked to save under that very name (StorageBackend.save_reserved),
    without the free-name lookup (a HEAD) Django's Storage.save makes first: the record already
    guarantees no other file of the chain holds the name. Any other storage gets its own save().
    """
    if isinstance(storage, StorageBackend):
        return storage.save_reserved
    return storage.save


def _warn_once(alias: str, reason: str) -> None:
    with _warned_lock:
        if (alias, reason) in _warned:
            return
        _warned.add((alias, reason))
    # Under `make run` the process manager's line for that backend has said it once for the whole run.
    level = logging.DEBUG if getattr(settings, "STORAGE_LEFT_OUT_REPORTED", False) else logging.WARNING
    logger.log(level, "storage backend %s is left out of the fallback chain: %s", alias, reason)


@deconstructible
class FallbackStorage(Storage):
    def __init__(
        self,
        backends: Sequence[str] | Sequence[tuple[str, Storage]] | None = None,
        *,
        breakers: BreakerRegistry | None = None,
        allow_overwrite: bool = False,
        replicas: int | None = None,
    ) -> None:
        """`backends`: STORAGES aliases in order (the `backends` option of STORAGES["default"]), or
        (alias, storage) pairs (tests, benchmarks); None is the default order (configured_order()).
        `replicas`: copies each file should have, the home copy included; None: STORAGE_REPLICAS for
        the configured chain (0 there: two when the chain has two backends), 1 for an explicit chain."""
        self.allow_overwrite = allow_overwrite
        if replicas is not None and replicas < 1:
            raise ImproperlyConfigured("replicas counts the home copy: at least 1")
        self._replicas = replicas
        self._order, self._explicit = _chain_spec(backends)
        # An explicit chain (tests) gets breakers of its own; the configured chain shares the process's.
        self._breakers = breakers or (BreakerRegistry() if self._explicit is not None else process_breakers)
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
            order = self._order if self._order is not None else configured_order()
            for alias in order:
                if self._order is not None and alias not in settings.STORAGES:
                    raise ImproperlyConfigured(
                        f"STORAGES['default']['OPTIONS']['backends'] names {alias!r}, which has no STORAGES entry"
                    )
                storage, reason = load_backend(alias)
                if storage is None:
                    self._left_out[alias] = reason
                    _warn_once(alias, reason)
                    continue
                chain.append(Backend(alias, storage, self._breakers.get(alias)))
            if not chain:
                raise ImproperlyConfigured(
                    f"no storage backend is configured ({', '.join(order)}: all left out, see the warnings)"
                )
        for backend in chain[:-1]:
            backend.has_next = True
        return chain

    @property
    def replicas_wanted(self) -> int:
        """How many verified copies each file should have, its home copy included (at most one per backend)."""
        if self._replicas is not None:
            wanted = self._replicas
        elif self._explicit is not None:
            wanted = 1
        else:
            wanted = settings.STORAGE_REPLICAS or 2
        return max(1, min(wanted, len(self.backends)))

    def backend_or_none(self, alias: str) -> Backend | None:
        for backend in self.backends:
            if backend.alias == alias:
                return backend
        return None

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
        if self.allow_overwrite or (max_length and len(name) > max_length):
            name = self.get_available_name(name, max_length=max_length)
            validate_file_name(name, allow_relative_path=True)
        # Otherwise no lookup first: the reservation (a unique insert, _reserve) is the free-name check.
        name = self._save(name, content, max_length=max_length)
        validate_file_name(name, allow_relative_path=True)
        self.stored(name)
        return name

    def stored(self, name: str) -> None:
        """After a file is stored (a save, or a direct upload recorded): its further copies are made once
        the caller's transaction commits."""
        if self.replicas_wanted <= 1:
            return
        if self._explicit is not None:
            # A chain of its own (tests, benchmarks) is unknown to a worker: its copies are made here.
            transaction.on_commit(lambda: replication_queue.replicate_here(self, name))
        else:
            transaction.on_commit(lambda: replication_queue.enqueue_replication(name))

    def _save(self, name: str, content: Any, max_length: int | None = None) -> str:
        if self.allow_overwrite and locations.location_taken(name):
            self.delete(name)
            if locations.location_taken(name):
                raise StorageUnavailable(f"{name!r} cannot be replaced now: a backend holding its old copy is down")
        payload = Payload(content)
        try:
            failures: list[str] = []
            for backend in self.backends:
                if backend.breaker.is_open():
                    failures.append(f"{backend.alias}: circuit breaker open")
                    metrics.failover(backend.alias)
                    continue
                record = self._reserve(name, backend.alias, max_length)
                name = record.name
                payload.rewind()
                try:
                    stored = backend.call(_save_function(backend.storage), name, payload.file, max_length=max_length)
                except StorageUnavailable as exc:
                    locations.location_release(record)
                    failures.append(f"{backend.alias}: {type(exc).__name__}: {exc}")
                    logger.warning("save of %s: %s unavailable (%s), trying the next backend", name, backend.alias, exc)
                    metrics.failover(backend.alias)
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
        """The record of `name` (or of a free name in its place when a record holds it) on `alias`."""
        for _ in range(MAX_NAME_ATTEMPTS):
            record = locations.location_reserve(name, alias)
            if record is not None:
                return record
            name = self.get_available_name(name, max_length=max_length)  # taken meanwhile by another writer
        raise StorageRejected(f"no free name found for {name!r}")

    def _finish(self, backend: Backend, record, stored: str, payload: Payload) -> None:
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
    # The home copy first; on an outage, an open breaker or a copy gone missing there, the next
    # verified replica, within the same call. Every copy but the last is read within a failover
    # scope (storage_app.attempts), so a dead home backend costs a refused connection, not retries.
    def _read_candidates(self, name: str) -> tuple[str, list[Backend]]:
        found = locations.location_read_order(self._name(name))
        if found is None:
            raise FileNotFoundError(f"no stored file is named {self._name(name)!r}")
        record, aliases = found
        candidates = [backend for alias in aliases if (backend := self.backend_or_none(alias)) is not None]
        if not candidates:
            raise StorageUnavailable(
                f"{record.name!r} lives on {', '.join(aliases)}: storage backend not configured in this process",
                backend=record.backend,
            )
        return record.name, candidates

    def _read(self, name: str, operation: Callable[[Backend, str], T]) -> T:
        stored, candidates = self._read_candidates(name)
        for index, backend in enumerate(candidates):
            last = index == len(candidates) - 1
            if not last and backend.breaker.is_open():
                continue
            try:
                return backend.call_scoped(not last, operation, backend, stored)
            except (StorageUnavailable, FileNotFoundError, NotImplementedError) as exc:
                if last:
                    raise
                logger.warning("read of %s: %s failed (%s), reading a replica", stored, backend.alias, exc)
        raise AssertionError("unreachable: the last candidate returns or raises")

    def _open(self, name: str, mode: str = "rb") -> File:
        if any(flag in mode for flag in "wax+"):
            raise ValueError("FallbackStorage opens files for reading only; write with save()")
        return self._read(name, lambda backend, stored: backend.storage.open(stored, mode))

    def exists(self, name: str) -> bool:
        """Whether a readable file of this name is stored (on whichever backend)."""
        return locations.location_get(self._name(name)) is not None

    def size(self, name: str) -> int:
        return self._read(name, lambda backend, stored: backend.storage.size(stored))

    def url(self, name: str, *args: Any, **kwargs: Any) -> str:
        name = self._name(name)
        found = locations.location_read_order(name)
        if found is not None:
            # The home copy's URL, unless its backend is known down (breaker open) and a verified
            # replica's backend is not: then the replica's (signed or presigned as that backend signs).
            record, aliases = found
            backends = [backend for alias in aliases if (backend := self.backend_or_none(alias)) is not None]
            for backend in backends:
                if not backend.breaker.is_open():
                    return backend.storage.url(record.name, *args, **kwargs)
            if backends:
                return backends[0].storage.url(record.name, *args, **kwargs)
        record = locations.location_get(
            name, states=(StoredFileState.STORED, StoredFileState.WRITING, StoredFileState.DELETING)
        )
        # A name with no record gets the URL it would have on the primary, as Django's storages do.
        backend = self.backend(record.backend) if record else self.primary
        return backend.storage.url(record.name if record else name, *args, **kwargs)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return locations.locations_listdir(self._name(path or "", allow_empty=True))

    def get_modified_time(self, name: str) -> datetime:
        return self._read(name, lambda backend, stored: backend.storage.get_modified_time(stored))

    def get_created_time(self, name: str) -> datetime:
        return self._read(name, lambda backend, stored: backend.storage.get_created_time(stored))

    def get_accessed_time(self, name: str) -> datetime:
        return self._read(name, lambda backend, stored: backend.storage.get_accessed_time(stored))

    def path(self, name: str) -> str:
        # A local path: the home copy's when its backend has paths, else a replica's that has one.
        stored, candidates = self._read_candidates(name)
        for index, backend in enumerate(candidates):
            try:
                return backend.storage.path(stored)
            except NotImplementedError:
                if index == len(candidates) - 1:
                    raise
        raise AssertionError("unreachable")

    # --- deleting ----------------------------------------------------------------------------------
    def delete(self, name: str) -> None:
        """Make the file unreadable now and remove its objects; a copy on a down backend is removed later.

        The `deleting` record is the ledger of the delete: until every object is gone it stays, and
        storage_app.deletions retries it on the DELETE_RETRY backoff. Nothing else needs to remember it.
        """
        record = locations.location_mark_deleting(self._name(name))
        if record is not None:
            self.purge(record)

    def purge(self, record) -> list[str]:
        """Delete every object of a deleting record; returns the backends still holding one.

        A backend whose delete fails stays on the record, which counts the failed attempt, keeps the
        first error and is scheduled for a retry (locations.location_purged).
        """
        remaining: list[str] = []
        error: BaseException | None = None
        failures: list[str] = []
        for alias in locations.location_targets(record):
            try:
                backend = self.backend(alias)
                backend.call(backend.storage.delete, record.name)
            except StorageUnavailable as exc:
                logger.warning("delete of %s on %s deferred: %s", record.name, alias, exc)
                remaining.append(alias)
                failures.append(f"{alias}: {type(exc).__name__}: {exc}")
            except Exception as exc:  # a refusal (e.g. access denied): kept for a retry, reported to the caller
                remaining.append(alias)
                failures.append(f"{alias}: {type(exc).__name__}: {exc}")
                error = error or exc
        locations.location_purged(record, remaining=remaining, error="; ".join(failures))
        if error is not None:
            raise error
        return remaining
