"""Replicas: further verified copies of each stored file on other backends of the chain.

STORAGE_REPLICAS copies per file, the home copy (StoredFile.backend) included; 0 means two when the
chain has two backends or more. After a save commits, FallbackStorage queues `replicate_file`
(storage_app.replication_queue); the task copies the file to the first backends of the chain that
hold no copy yet, each in steps a crash can stop anywhere:
1. a StoredFileReplica row names the target (state `copying`), so a copy there is always known
   (deletes purge it, the orphan walk keeps it);
2. any object of that name on the target is removed (a partial copy: the name is this record's),
   then the content is streamed from a readable copy (FallbackStorage.open: home first);
3. the copy is read back and its size and SHA-256 compared with the record;
4. the row turns `verified`, if the file is still stored; a file deleted meanwhile loses the copy.
A failed copy keeps its row (`attempts`, `last_error`, due again on the delete backoff);
`replicas_catch_up` (periodic task, STORAGE_REPLICATION_INTERVAL) retries what is due and copies
what was never queued (a lost message, a broker outage).

Reads fail over to `verified` rows only (FallbackStorage._read). Scrub (storage_app.scrub) re-reads
every copy against the recorded SHA-256 and repairs a bad one with `replica_copy`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import asdict, dataclass, field

from django.core.files import File
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from storage_app import locations
from storage_app.exceptions import StorageError
from storage_app.fallback import Backend, FallbackStorage, default_fallback_storage
from storage_app.models import ReplicaState, StoredFile, StoredFileReplica, StoredFileState

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
CATCH_UP_BATCH = 500


class ReplicaMismatch(StorageError):
    """A copy read back differs from the record (size or SHA-256)."""


@dataclass
class ReplicationReport:
    copied: list[str] = field(default_factory=list)  # "name → alias"
    failed: dict[str, str] = field(default_factory=dict)
    complete: int = 0  # files that already had every copy

    def as_dict(self) -> dict:
        return asdict(self)


def replica_targets(storage: FallbackStorage, record: StoredFile, *, exclude: tuple[str, ...] = ()) -> list[Backend]:
    """The backends a further copy of `record` should go to now: first of the chain holding no verified copy."""
    verified = set(record.replicas.filter(state=ReplicaState.VERIFIED).values_list("backend", flat=True)) - {
        record.backend
    }
    missing = storage.replicas_wanted - 1 - len(verified)
    if missing <= 0:
        return []
    held = {record.backend, *verified, *exclude}
    free = [b for b in storage.backends if b.alias not in held]
    return free[:missing]


def replicas_ensure(
    storage: FallbackStorage | None,
    name: str,
    report: ReplicationReport | None = None,
    *,
    exclude: tuple[str, ...] = (),
) -> ReplicationReport:
    """Make the copies `name` still lacks; errors are recorded on the replica rows and in the report."""
    storage = storage or default_fallback_storage()
    report = report if report is not None else ReplicationReport()
    record = StoredFile.objects.filter(name=name, state=StoredFileState.STORED).first()
    if record is None:
        return report
    targets = replica_targets(storage, record, exclude=exclude)
    if not targets:
        report.complete += 1
    for backend in targets:
        try:
            if replica_copy(storage, record, backend):
                report.copied.append(f"{name} → {backend.alias}")
        except Exception as exc:
            report.failed[f"{name} → {backend.alias}"] = f"{type(exc).__name__}: {exc}"
            logger.warning("replication of %s to %s failed: %s", name, backend.alias, exc)
    return report


def replica_copy(
    storage: FallbackStorage, record: StoredFile, backend: Backend, *, source: Backend | None = None
) -> bool:
    """Copy `record` to `backend` and verify it (the steps of the module docstring); False if it was deleted.

    The content comes from `source` when given (a copy scrub just verified), else from a readable copy.
    """
    replica = locations.replica_claim(record, backend.alias)
    if replica is None:
        return False
    name = record.name
    try:
        backend.call(backend.storage.delete, name)  # a partial or bad copy of this record
        opened = source.call(source.storage.open, name, "rb") if source is not None else storage.open(name, "rb")
        with opened as handle:
            stored = backend.call(backend.storage.save, name, File(handle, name=os.path.basename(name)))
        if stored != name:
            backend.call(backend.storage.delete, stored)
            raise StorageError(f"{backend.alias} stored {name!r} as {stored!r}; the name must not change")
        copy_verify(backend, name, size=record.size, checksum=record.checksum)
    except Exception as exc:
        locations.replica_failed(replica, f"{type(exc).__name__}: {exc}")
        raise
    if locations.replica_verified(replica):
        return True
    try:  # deleted while we copied: the copy must not outlive it
        backend.call(backend.storage.delete, name)
    except Exception as exc:
        logger.warning("copy of deleted %s on %s left for the orphan walk: %s", name, backend.alias, exc)
    return False


def copy_sha256(backend: Backend, name: str) -> tuple[int, str]:
    """(size, SHA-256) of the object `name` on `backend`, streamed; the whole read in one breaker call,
    so a backend that stops answering mid-body is bounded like any other call (storage_app.attempts)."""
    return backend.call(_digest, backend.storage, name)


def _digest(storage, name: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def copy_verify(backend: Backend, name: str, *, size: int | None, checksum: str) -> None:
    found_size, found_checksum = copy_sha256(backend, name)
    if found_size != size:
        raise ReplicaMismatch(f"copy of {name!r} on {backend.alias} has {found_size} bytes, expected {size}")
    if found_checksum != checksum:
        raise ReplicaMismatch(f"copy of {name!r} on {backend.alias} does not match the recorded SHA-256")


def _short_of_copies(wanted: int):
    """Stored records short of `wanted` - 1 verified replicas, none of whose failed copies waits on its backoff."""
    waiting = StoredFileReplica.objects.filter(stored_file=OuterRef("pk"), next_attempt_at__gt=timezone.now()).exclude(
        state=ReplicaState.VERIFIED
    )
    return (
        StoredFile.objects.filter(state=StoredFileState.STORED)
        .annotate(verified=Count("replicas", filter=Q(replicas__state=ReplicaState.VERIFIED)))
        .filter(verified__lt=wanted - 1)
        .filter(~Exists(waiting))
    )


def replicas_catch_up(
    *, storage: FallbackStorage | None = None, limit: int | None = CATCH_UP_BATCH
) -> ReplicationReport:
    """Copy every file short of copies whose retry is due (lost messages, outages), oldest first."""
    storage = storage or default_fallback_storage()
    report = ReplicationReport()
    wanted = storage.replicas_wanted
    if wanted <= 1:
        return report
    names = _short_of_copies(wanted).order_by("pk").values_list("name", flat=True)
    for name in names[:limit] if limit is not None else names:
        replicas_ensure(storage, name, report)
    return report


def replication_backlog(*, storage: FallbackStorage | None = None) -> int:
    """Stored files with fewer verified copies than STORAGE_REPLICAS (for metrics and health)."""
    storage = storage or default_fallback_storage()
    wanted = storage.replicas_wanted
    if wanted <= 1:
        return 0
    return (
        StoredFile.objects.filter(state=StoredFileState.STORED)
        .annotate(verified=Count("replicas", filter=Q(replicas__state=ReplicaState.VERIFIED)))
        .filter(verified__lt=wanted - 1)
        .count()
    )
