"""Moving stored files between backends without ever losing one: reconcile (home to the primary) and migrate.

One file moves in steps, each leaving a state that a re-run finishes:
1. the record names the target in `moving_to` (so a copy a crash leaves there is known);
2. any object of that name on the target is removed (the partial copy of a crashed run: the name
   belongs to this record, so nothing else can live there), then the file is copied;
3. the copy is read back and its size and SHA-256 compared with the record;
4. the record switches to the target in one transaction, keeping the source in `leftover_on`;
5. the source copy is deleted, then `leftover_on` is cleared.
Until step 4 commits, readers use the source; from then on, the verified copy on the target.

`relocation_finish_unfinished` first completes what crashed runs and outages left: interrupted
copies, leftover copies, deletes waiting on a backend that was down (every `deleting` record, due
or not, through storage_app.deletions, the one retry path of the delete ledger), and writes
abandoned by a dead process. Running everything again at any time is safe.

The orphan walk (`reconcile_storage --orphans`) is storage_app.orphans.orphans_sweep, re-exported here.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.core.files import File
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from storage_app import locations, metrics
from storage_app.deletions import deletions_retry
from storage_app.exceptions import StorageError, StorageUnavailable
from storage_app.fallback import FallbackStorage, default_fallback_storage
from storage_app.models import ReplicaState, StoredFile, StoredFileState
from storage_app.orphans import OrphanReport, orphans_sweep
from storage_app.replication import replicas_ensure

__all__ = [
    "CopyMismatch",
    "OrphanReport",
    "RelocationBusy",
    "RelocationReport",
    "TargetUnavailable",
    "file_move",
    "files_relocate",
    "orphans_sweep",
    "relocation_finish_unfinished",
    "storage_migrate",
    "storage_reconcile",
]

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024


class CopyMismatch(StorageError):
    """The copy read back from the target differs from the record (size or checksum)."""


class TargetUnavailable(StorageUnavailable):
    """The backend files would move to failed its health probe: nothing is moved."""


class RelocationBusy(StorageUnavailable):
    """Another reconcile or migrate run holds the relocation lock: nothing is moved, try again later."""


# Key of the PostgreSQL advisory lock one relocation run holds. Two runs at once would be unsafe: the
# second would take the first's copy in progress (`moving_to`) for a crashed one and delete it just
# before the first switches its record to it.
RELOCATION_LOCK_KEY = 0x1A5707E
RELOCATION_LOCK_WAIT = 5.0  # seconds


def storage_reconcile(
    *,
    storage: FallbackStorage | None = None,
    dry_run: bool = False,
    on_file: Callable[[str, str], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> RelocationReport:
    """Bring every file that lives on a fallback home to the primary, once the primary passes its probe."""
    storage = storage or default_fallback_storage()
    primary = storage.primary
    _require_healthy(primary)
    report = files_relocate(target=primary.alias, storage=storage, dry_run=dry_run, on_file=on_file, on_plan=on_plan)
    if not dry_run:
        metrics.reconcile_recorded(
            {
                "moved": len(report.moved),
                "failed": len(report.failed),
                "skipped": len(report.skipped),
                "leftovers_removed": len(report.leftovers_removed),
                "deletes_finished": len(report.deletes_finished),
            }
        )
    return report


def storage_migrate(
    *,
    source: str,
    target: str,
    storage: FallbackStorage | None = None,
    dry_run: bool = False,
    on_file: Callable[[str, str], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> RelocationReport:
    """Move every file stored on `source` to `target` (switching providers), with reconcile's guarantees."""
    if source == target:
        raise ValueError("--from and --to name the same backend")
    storage = storage or default_fallback_storage()
    storage.backend(source)
    _require_healthy(storage.backend(target))
    return files_relocate(
        target=target, source=source, storage=storage, dry_run=dry_run, on_file=on_file, on_plan=on_plan
    )


def _require_healthy(backend) -> None:
    from storage_app.health import backend_probe

    result = backend_probe(backend)
    if not result.ok:
        raise TargetUnavailable(
            f"{backend.alias} failed its health probe ({result.error}); nothing was moved", backend=backend.alias
        )


@dataclass
class RelocationReport:
    target: str
    source: str | None = None
    dry_run: bool = False
    planned: int = 0
    moved: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # changed or deleted meanwhile
    leftovers_removed: list[str] = field(default_factory=list)
    leftovers_pending: list[str] = field(default_factory=list)
    deletes_finished: list[str] = field(default_factory=list)
    deletes_pending: list[str] = field(default_factory=list)
    abandoned_writes_cleared: list[str] = field(default_factory=list)
    interrupted_copies: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        scope = f"from {self.source} " if self.source else ""
        verb = "would move" if self.dry_run else "moved"
        return (
            f"{verb} {len(self.moved)} of {self.planned} file(s) {scope}to {self.target}; "
            f"{len(self.failed)} failed, {len(self.skipped)} skipped (changed meanwhile); "
            f"leftover copies removed {len(self.leftovers_removed)} (pending {len(self.leftovers_pending)}); "
            f"deletes finished {len(self.deletes_finished)} (pending {len(self.deletes_pending)}); "
            f"abandoned writes cleared {len(self.abandoned_writes_cleared)}"
        )


def relocation_finish_unfinished(storage: FallbackStorage, report: RelocationReport) -> None:
    """Finish what crashes and outages left behind (see the module docstring)."""
    work = locations.locations_unfinished(stale_after=settings.STORAGE_STALE_WRITE_AFTER)
    if report.dry_run:
        report.leftovers_pending = [r.name for r in work["leftovers"]]
        report.deletes_pending = [r.name for r in work["deleting"]]
        report.interrupted_copies = [r.name for r in work["interrupted_copies"]]
        report.abandoned_writes_cleared = [r.name for r in work["abandoned_writes"]]
        return
    for record in work["interrupted_copies"]:
        report.interrupted_copies.append(record.name)
        _drop_interrupted_copy(storage, record)
    for record in work["leftovers"]:
        if _remove_leftover(storage, record):
            report.leftovers_removed.append(record.name)
        else:
            report.leftovers_pending.append(record.name)
    deletes = deletions_retry(storage=storage, limit=None, due_only=False)
    report.deletes_finished.extend(deletes.finished)
    report.deletes_pending.extend(deletes.pending)
    for record in work["abandoned_writes"]:
        marked = locations.location_mark_deleting(record.name)
        if marked is None:
            continue
        try:
            remaining = storage.purge(marked)
        except Exception as exc:
            logger.warning("abandoned write %s could not be cleared: %s", record.name, exc)
            remaining = ["error"]
        if not remaining:
            report.abandoned_writes_cleared.append(record.name)


def files_relocate(
    *,
    target: str,
    source: str | None = None,
    storage: FallbackStorage | None = None,
    dry_run: bool = False,
    on_file: Callable[[str, str], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> RelocationReport:
    """Move every stored file not on `target` (only those on `source` when given) to `target`."""
    storage = storage or default_fallback_storage()
    target = storage.backend(target).alias  # raises when the target is not configured
    if source is not None:
        storage.backend(source)
    report = RelocationReport(target=target, source=source, dry_run=dry_run)
    with _relocation_lock(skip=dry_run):
        _relocate(storage, report, target=target, source=source, on_file=on_file, on_plan=on_plan)
    return report


@contextlib.contextmanager
def _relocation_lock(*, skip: bool = False) -> Iterator[None]:
    """Hold the relocation advisory lock for one run, or raise RelocationBusy when another run has it."""
    if skip:
        yield
        return
    # A run killed a moment ago holds the lock until PostgreSQL notices its connection is gone, so a
    # re-run waits a little before calling the other run busy.
    deadline = time.monotonic() + RELOCATION_LOCK_WAIT
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [RELOCATION_LOCK_KEY])
            (acquired,) = cursor.fetchone()
        if acquired:
            break
        if time.monotonic() >= deadline:
            raise RelocationBusy("another reconcile_storage or migrate_storage run is in progress; nothing was moved")
        time.sleep(0.1)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RELOCATION_LOCK_KEY])
        except DatabaseError:
            # The session lock must not outlive the run: closing the connection releases it.
            connection.close()


def _relocate(
    storage: FallbackStorage,
    report: RelocationReport,
    *,
    target: str,
    source: str | None,
    on_file: Callable[[str, str], None] | None,
    on_plan: Callable[[int], None] | None,
) -> None:
    dry_run = report.dry_run
    relocation_finish_unfinished(storage, report)
    ids = locations.locations_away_from(target, source=source)
    report.planned = len(ids)
    if on_plan:
        on_plan(len(ids))
    for record_id in ids:
        record = StoredFile.objects.filter(pk=record_id, state=StoredFileState.STORED).first()
        if record is None or record.backend == target:
            report.skipped.append(str(record_id))
            outcome = "skipped"
        elif dry_run:
            report.moved.append(record.name)
            outcome = "would move"
        else:
            outcome = _move_reported(storage, record, target, report)
        if on_file:
            on_file(record.name if record else str(record_id), outcome)


def _move_reported(storage: FallbackStorage, record: StoredFile, target: str, report: RelocationReport) -> str:
    try:
        outcome = file_move(
            storage,
            record,
            target,
            on_step=lambda step: _crash_point(step, len(report.moved)),
            migrating=report.source is not None,
        )
    except Exception as exc:
        report.failed[record.name] = f"{type(exc).__name__}: {exc}"
        logger.warning("move of %s from %s to %s failed: %s", record.name, record.backend, target, exc)
        return "failed"
    if outcome == "moved":
        report.moved.append(record.name)
    else:
        report.skipped.append(record.name)
    return outcome


def file_move(
    storage: FallbackStorage,
    record: StoredFile,
    target: str,
    *,
    on_step: Callable[[str], None] | None = None,
    migrating: bool = False,
) -> str:
    """Move one stored file to `target`: 'moved', or 'skipped' when it changed meanwhile.

    `on_step` is called after the verified copy ('after_copy') and after the switch ('after_switch').
    Replicas: a reconcile (not `migrating`) keeps the source copy as a verified replica when the file
    would otherwise be short of STORAGE_REPLICAS copies; a migration (leaving the source) deletes it
    and copies the file to another backend of the chain instead.
    """
    on_step = on_step or (lambda step: None)
    source = record.backend
    if record.replicas.filter(backend=target, state=ReplicaState.VERIFIED).exists():
        # The target already holds a verified copy: the home changes hands, nothing is copied, and
        # the old home stays a verified replica (reconcile keeps the replica count).
        if migrating:
            swapped = locations.location_promote_replica(record, target, old_home_state=ReplicaState.BAD)
            if swapped is None:
                return "skipped"
            locations.replica_drop(swapped, source)
            _delete_quietly(storage, source, record.name)
            replicas_ensure(storage, record.name, exclude=(source,))
            return "moved"
        swapped = locations.location_promote_replica(record, target, old_home_state=ReplicaState.VERIFIED)
        return "skipped" if swapped is None else "moved"
    source_backend, target_backend = storage.backend(source), storage.backend(target)
    claimed = StoredFile.objects.filter(pk=record.pk, state=StoredFileState.STORED, backend=source).update(
        moving_to=target, updated_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    name = record.name
    try:
        target_backend.call(target_backend.storage.delete, name)  # a partial copy of a crashed run
        with source_backend.call(source_backend.storage.open, name, "rb") as handle:
            stored = target_backend.call(target_backend.storage.save, name, File(handle, name=os.path.basename(name)))
        if stored != name:
            target_backend.call(target_backend.storage.delete, stored)
            raise StorageError(f"{target} stored {name!r} as {stored!r}; the name must not change", backend=target)
        _verify(target_backend, name, record)
    except BaseException:
        _abandon_copy(storage, record, target)
        raise
    on_step("after_copy")
    with transaction.atomic():
        current = StoredFile.objects.select_for_update().filter(pk=record.pk).first()
        if current is None or current.state != StoredFileState.STORED or current.moving_to != target:
            # Deleted (or changed) while we copied: the copy must not outlive it.
            switched = False
        else:
            current.backend = target
            current.moving_to = ""
            locations.replica_drop(current, target)  # the target holds the home copy now
            wanted = storage.replicas_wanted - 1
            keep_source = not migrating and locations.location_verified_replicas(current, excluding=(source,)) < wanted
            if keep_source:
                locations.location_keep_as_replica(current, source)
            current.leftover_on = "" if keep_source else source
            current.save(update_fields=["backend", "moving_to", "leftover_on", "updated_at"])
            switched = True
    if not switched:
        _abandon_copy(storage, record, target)
        return "skipped"
    on_step("after_switch")
    _remove_leftover(storage, current)
    if migrating and storage.replicas_wanted > 1:
        locations.replica_drop(current, source)
        replicas_ensure(storage, current.name, exclude=(source,))
    return "moved"


def _delete_quietly(storage: FallbackStorage, alias: str, name: str) -> None:
    try:
        backend = storage.backend(alias)
        backend.call(backend.storage.delete, name)
    except Exception as exc:  # the orphan walk removes it later
        logger.warning("copy of %s on %s left for the orphan walk: %s", name, alias, exc)


def _verify(backend, name: str, record: StoredFile) -> None:
    size = backend.call(backend.storage.size, name)
    if size != record.size:
        raise CopyMismatch(f"copy of {name!r} on {backend.alias} has {size} bytes, expected {record.size}")
    digest = hashlib.sha256()
    with backend.call(backend.storage.open, name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != record.checksum:
        raise CopyMismatch(f"copy of {name!r} on {backend.alias} does not match the recorded SHA-256")


def _abandon_copy(storage: FallbackStorage, record: StoredFile, target: str) -> None:
    """Remove a copy that will not be used; `moving_to` stays set if that fails, so a re-run retries."""
    try:
        backend = storage.backend(target)
        backend.call(backend.storage.delete, record.name)
    except Exception as exc:
        logger.warning("copy of %s on %s left for the next run: %s", record.name, target, exc)
        return
    StoredFile.objects.filter(pk=record.pk, moving_to=target).update(moving_to="", updated_at=timezone.now())


def _drop_interrupted_copy(storage: FallbackStorage, record: StoredFile) -> None:
    """A crashed move left `moving_to`: the record still points at the source, so the copy is discarded."""
    _abandon_copy(storage, record, record.moving_to)


def _remove_leftover(storage: FallbackStorage, record: StoredFile) -> bool:
    alias = record.leftover_on
    if not alias:
        return True
    try:
        backend = storage.backend(alias)
        backend.call(backend.storage.delete, record.name)
    except StorageUnavailable as exc:
        logger.warning("leftover copy of %s on %s kept for the next run: %s", record.name, alias, exc)
        return False
    StoredFile.objects.filter(pk=record.pk, leftover_on=alias).update(leftover_on="", updated_at=timezone.now())
    return True


def _crash_point(name: str, moved: int) -> None:
    """Fault injection for the crash-safety tests: the process kills itself at the named step once
    STORAGE_RELOCATE_CRASH_AFTER files have been moved."""
    if name == settings.STORAGE_RELOCATE_CRASH_AT and moved >= settings.STORAGE_RELOCATE_CRASH_AFTER:
        os.kill(os.getpid(), signal.SIGKILL)
