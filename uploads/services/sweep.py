"""The sweep: finds what a crash, an outage or a lost message left behind, and finishes or removes it.

- uploads 'pending' for longer than UPLOAD_REQUEUE_AFTER (their message was lost: Redis lost its
  queue, the broker was down when it was sent) and 'processing' for longer than UPLOAD_STALE_AFTER
  (their worker died) are queued again; `uploads_requeue` does only this, on its own periodic task
  every UPLOAD_REQUEUE_AFTER / 2 seconds, so a lost message costs minutes, not the sweep's interval.
  The promotion claims its row under a row lock, so concurrent re-queues promote it once;
- temporary files that no unfinished upload refers to are removed once older than the grace period;
- the folders of the upload kinds with an owning row (uploads.kinds: inventory/, documents/) are
  walked on every backend by the storage library's one orphan walk (storage_app.orphans): stored
  files that no row or unfinished upload refers to, and objects no location record accounts for,
  are removed once older than the grace period;
- deletes a backend could not take (the storage library's ledger: StoredFile records `deleting`)
  are retried when due on their backoff (storage_app.deletions).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from storage_app import metrics
from storage_app.deletions import deletions_retry
from storage_app.fallback import FallbackStorage
from storage_app.orphans import orphans_sweep
from uploads import kinds
from uploads.models import UploadStatus, UploadTracking
from uploads.services.direct import direct_sweep
from uploads.services.queue import enqueue_promotion
from uploads.services.temporary import temporary_root

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    direct_finished: list[int] = field(default_factory=list)
    direct_expired: list[int] = field(default_factory=list)
    temporary_removed: list[str] = field(default_factory=list)
    objects_removed: list[str] = field(default_factory=list)
    deletions_retried: list[str] = field(default_factory=list)
    deletions_failing: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def uploads_requeue(
    *, stale_after: int | None = None, requeue_after: int | None = None, dry_run: bool = False
) -> list[int]:
    """Queue again the uploads whose message was lost (pending) or whose worker died (processing)."""
    stale_after = settings.UPLOAD_STALE_AFTER if stale_after is None else stale_after
    requeue_after = settings.UPLOAD_REQUEUE_AFTER if requeue_after is None else requeue_after
    now = timezone.now()
    requeued: list[int] = []
    cutoff = now - timedelta(seconds=stale_after)
    pending_cutoff = now - timedelta(seconds=min(requeue_after, stale_after))
    abandoned = Q(status=UploadStatus.PROCESSING, processing_started_at__lte=cutoff)
    stuck = UploadTracking.objects.filter(abandoned | Q(status=UploadStatus.PENDING, updated_at__lte=pending_cutoff))
    for upload_id in stuck.order_by("pk").values_list("pk", flat=True):
        requeued.append(upload_id)
        if dry_run:
            continue
        # Declared abandoned here, under the same condition, so the next claim takes it whatever its
        # worker's own stale threshold; a worker that finished meanwhile is not overridden. A pending
        # row's updated_at moves on too, so it is re-queued once per UPLOAD_REQUEUE_AFTER, not per run.
        UploadTracking.objects.filter(abandoned, pk=upload_id).update(
            status=UploadStatus.PENDING, processing_started_at=None, updated_at=now
        )
        UploadTracking.objects.filter(pk=upload_id, status=UploadStatus.PENDING).update(updated_at=now)
        enqueue_promotion(upload_id)
    if requeued and not dry_run:
        logger.info("re-queued uploads %s", requeued)
    return requeued


def uploads_sweep(*, dry_run: bool = False, grace: int | None = None, stale_after: int | None = None, storage=None):
    grace = settings.UPLOAD_SWEEP_GRACE if grace is None else grace
    storage = storage or default_storage
    report = SweepReport(dry_run=dry_run)
    # Rows awaiting a direct upload first: an object that arrived without its callback is finished
    # (so gets its location record) before the orphan walk below could take it for an orphan.
    report.direct_finished, report.direct_expired = direct_sweep(grace=grace, dry_run=dry_run, storage=storage)
    report.requeued = uploads_requeue(stale_after=stale_after, dry_run=dry_run)

    _sweep_temporary(report, grace=grace, dry_run=dry_run)
    if isinstance(storage, FallbackStorage):
        _sweep_objects(report, storage, grace=grace, dry_run=dry_run)
        if not dry_run:
            deletes = deletions_retry(storage=storage)
            report.deletions_retried, report.deletions_failing = deletes.finished, deletes.pending
    else:
        # Without location records nothing can tell an orphan from a file, nor is a delete owed.
        logger.warning("sweep: %r is not a FallbackStorage; stored objects are not swept", storage)
    if (
        report.requeued
        or report.direct_finished
        or report.direct_expired
        or report.temporary_removed
        or report.objects_removed
        or report.deletions_retried
    ):
        logger.info("sweep: %s", report.as_dict())
    if not dry_run:
        metrics.sweep_recorded({key: len(value) for key, value in report.as_dict().items() if isinstance(value, list)})
    return report


def _sweep_temporary(report: SweepReport, *, grace: int, dry_run: bool) -> None:
    root = temporary_root()
    cutoff = time.time() - grace
    unfinished = set(UploadTracking.objects.exclude(status=UploadStatus.COMPLETE).values_list("temp_path", flat=True))
    for path in root.iterdir():
        if not path.is_file() or path.name in unfinished:
            continue
        try:
            if path.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        report.temporary_removed.append(path.name)
        if not dry_run:
            path.unlink(missing_ok=True)


def _upload_object(folders: list[str]) -> re.Pattern[str]:
    """`<folder>/<owner>/<upload>/<file>`: the names promotion gives (group 2 is the upload id)."""
    return re.compile(r"^(" + "|".join(re.escape(folder) for folder in folders) + r")/\d+/(\d+)/[^/]+$")


def _sweep_objects(report: SweepReport, storage: FallbackStorage, *, grace: int, dry_run: bool) -> None:
    owned = [spec for spec in kinds.registered() if spec.stored_names is not None]
    if not owned:
        return
    folders = [spec.folder for spec in owned]
    upload_object = _upload_object(folders)
    # Uploads in flight first, then the names rows refer to: an upload finishing in between is in
    # the second list, so its file is never taken for an orphan.
    in_flight = {
        str(pk)
        for pk in UploadTracking.objects.filter(
            status__in=[UploadStatus.AWAITING_UPLOAD, UploadStatus.PENDING, UploadStatus.PROCESSING]
        ).values_list("pk", flat=True)
    }
    referenced = {name for spec in owned for name in spec.stored_names() if name}

    def unreferenced(name: str) -> bool:
        match = upload_object.match(name)
        return match is not None and name not in referenced and match.group(2) not in in_flight

    orphans = orphans_sweep(storage=storage, prefixes=folders, grace=grace, dry_run=dry_run, unreferenced=unreferenced)
    report.objects_removed.extend(orphans.names)
    for alias, reason in orphans.unreachable.items():
        logger.warning("sweep: objects on %s not swept: %s", alias, reason)
