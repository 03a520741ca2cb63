"""The one orphan walk: objects on the backends that nothing accounts for any more.

`orphans_sweep` lists each backend of the chain once under the given prefixes (each backend's own
`listdir`, folder by folder) and looks every object up in the location records (StoredFile):

- an object no record accounts for on that backend (no record of its name, or a record that does
  not name that backend as its home, its copy in progress or its leftover) is *unrecorded*: a save
  whose caller's transaction rolled back, a process killed between writing and recording, a stray
  copy, a probe object of a killed process. It is deleted from that backend alone;
- a stored file the caller disowns (`unreferenced(name)` is true: no domain row refers to it) is
  *unreferenced*; it is deleted through the storage (FallbackStorage.delete: record and every copy,
  with the deferred-delete ledger behind it).

Either is removed only once its object is older than `grace` seconds (the backend's modified time),
so a write in progress or a file whose row is about to refer to it is never taken.

Users: `reconcile_storage --orphans` (every backend in full, no predicate, grace
STORAGE_STALE_WRITE_AFTER) and the upload pipeline's sweep (the folders of the upload kinds that
have owning rows, with the predicate "no row or unfinished upload refers to it", grace
UPLOAD_SWEEP_GRACE).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from storage_app import locations
from storage_app.exceptions import StorageError
from storage_app.fallback import Backend, FallbackStorage, default_fallback_storage
from storage_app.models import StoredFile, StoredFileState

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass
class OrphanReport:
    dry_run: bool = False
    removed: dict[str, list[str]] = field(default_factory=dict)  # backend -> unrecorded objects
    unreferenced: list[str] = field(default_factory=list)  # stored files the caller disowned
    kept_recent: int = 0
    unreachable: dict[str, str] = field(default_factory=dict)  # backend -> why it was not (fully) swept
    failed: dict[str, str] = field(default_factory=dict)  # name -> why its delete failed

    @property
    def names(self) -> list[str]:
        """Every name removed (or that would be): unreferenced files, then unrecorded objects by backend."""
        return [*self.unreferenced, *(name for names in self.removed.values() for name in names)]

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        count = sum(len(names) for names in self.removed.values())
        verb = "would remove" if self.dry_run else "removed"
        unreferenced = f", {len(self.unreferenced)} file(s) nothing refers to" if self.unreferenced else ""
        skipped = f"; not swept: {', '.join(self.unreachable)}" if self.unreachable else ""
        return (
            f"orphans: {verb} {count} object(s) no record accounts for{unreferenced}; "
            f"{self.kept_recent} too recent{skipped}"
        )


def orphans_sweep(
    *,
    storage: FallbackStorage | None = None,
    prefixes: Iterable[str] = ("",),
    grace: int | None = None,
    dry_run: bool = False,
    unreferenced: Callable[[str], bool] | None = None,
) -> OrphanReport:
    """Remove the orphans under `prefixes` ("" for everything) once older than `grace` seconds (see above)."""
    storage = storage or default_fallback_storage()
    grace = settings.STORAGE_STALE_WRITE_AFTER if grace is None else grace
    cutoff = timezone.now() - timedelta(seconds=grace)
    folders = list(dict.fromkeys(prefix.strip("/") for prefix in prefixes))
    report = OrphanReport(dry_run=dry_run)
    for backend in storage.backends:
        try:
            for batch in _batches(name for folder in folders for name in objects_under(backend.storage, folder)):
                _sweep_batch(storage, backend, batch, report, cutoff=cutoff, unreferenced=unreferenced)
        except (StorageError, OSError) as exc:
            report.unreachable[backend.alias] = f"{type(exc).__name__}: {exc}"
    return report


def objects_under(storage, folder: str) -> Iterator[str]:
    """Every object name under `folder` ("" for all) of one backend, walking its listdir."""
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    prefix = f"{folder}/" if folder else ""
    for name in files:
        yield f"{prefix}{name}"
    for directory in directories:
        yield from objects_under(storage, f"{prefix}{directory}")


def _batches(names: Iterator[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for name in names:
        batch.append(name)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _sweep_batch(
    storage: FallbackStorage,
    backend: Backend,
    batch: list[str],
    report: OrphanReport,
    *,
    cutoff,
    unreferenced: Callable[[str], bool] | None,
) -> None:
    records = {record.name: record for record in StoredFile.objects.filter(name__in=batch)}
    for name in batch:
        record = records.get(name)
        if record is None or backend.alias not in locations.location_targets(record):
            disowned = False
        elif (
            unreferenced is not None
            and record.state == StoredFileState.STORED
            and record.backend == backend.alias  # once per file, on the backend of its readable copy
            and unreferenced(name)
        ):
            disowned = True
        else:
            continue
        try:
            if backend.call(backend.storage.get_modified_time, name) > cutoff:
                report.kept_recent += 1
                continue
        except (FileNotFoundError, NotImplementedError):
            continue
        except (StorageError, OSError) as exc:
            report.unreachable.setdefault(backend.alias, f"{type(exc).__name__}: {exc}")
            continue
        if not _remove(storage, backend, name, report, disowned=disowned):
            continue
        if disowned:
            report.unreferenced.append(name)
        else:
            report.removed.setdefault(backend.alias, []).append(name)


def _remove(storage: FallbackStorage, backend: Backend, name: str, report: OrphanReport, *, disowned: bool) -> bool:
    """Remove one orphan (nothing on a dry run); False when its delete failed."""
    if report.dry_run:
        return True
    try:
        if disowned:
            storage.delete(name)  # record and every copy; a copy on a down backend stays in the ledger
        else:
            backend.call(backend.storage.delete, name)
    except FileNotFoundError:
        return True
    except Exception as exc:
        report.failed[name] = f"{type(exc).__name__}: {exc}"
        logger.warning("orphan %s on %s could not be removed: %s", name, backend.alias, exc)
        return False
    return True
