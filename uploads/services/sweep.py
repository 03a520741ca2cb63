"""The sweep: finds what a crash, an outage or a lost message left behind, and finishes or removes it.

- uploads 'processing' or 'pending' for longer than UPLOAD_STALE_AFTER (their worker died, or
  their message was lost) are queued again;
- temporary files that no unfinished upload refers to are removed once older than the grace period;
- objects under the folders of the upload kinds with an owning row (uploads.kinds: inventory/,
  documents/) that no row or unfinished upload refers to are removed once older than the grace period;
- deletions that failed earlier (services/deletion.py) are tried again when due.
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

from uploads import kinds
from uploads.models import UploadStatus, UploadTracking
from uploads.services.deletion import pending_deletions_retry
from uploads.services.queue import enqueue_promotion
from uploads.services.temporary import temporary_root

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    temporary_removed: list[str] = field(default_factory=list)
    objects_removed: list[str] = field(default_factory=list)
    deletions_retried: list[str] = field(default_factory=list)
    deletions_failing: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def uploads_sweep(*, dry_run: bool = False, grace: int | None = None, stale_after: int | None = None, storage=None):
    grace = settings.UPLOAD_SWEEP_GRACE if grace is None else grace
    stale_after = settings.UPLOAD_STALE_AFTER if stale_after is None else stale_after
    storage = storage or default_storage
    now = timezone.now()
    report = SweepReport(dry_run=dry_run)

    cutoff = now - timedelta(seconds=stale_after)
    abandoned = Q(status=UploadStatus.PROCESSING, processing_started_at__lte=cutoff)
    stuck = UploadTracking.objects.filter(abandoned | Q(status=UploadStatus.PENDING, updated_at__lte=cutoff))
    for upload_id in stuck.order_by("pk").values_list("pk", flat=True):
        report.requeued.append(upload_id)
        if dry_run:
            continue
        # Declared abandoned here, under the same condition, so the next claim takes it whatever its
        # worker's own stale threshold; a worker that finished meanwhile is not overridden.
        UploadTracking.objects.filter(abandoned, pk=upload_id).update(
            status=UploadStatus.PENDING, processing_started_at=None, updated_at=now
        )
        enqueue_promotion(upload_id)

    _sweep_temporary(report, grace=grace, dry_run=dry_run)
    _sweep_objects(report, storage, grace=grace, dry_run=dry_run)
    if not dry_run:
        report.deletions_retried, report.deletions_failing = pending_deletions_retry(storage=storage)
    if report.requeued or report.temporary_removed or report.objects_removed or report.deletions_retried:
        logger.info("sweep: %s", report.as_dict())
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


def _sweep_objects(report: SweepReport, storage, *, grace: int, dry_run: bool) -> None:
    owned = [spec for spec in kinds.registered() if spec.stored_names is not None]
    if not owned:
        return
    folders = [spec.folder for spec in owned]
    upload_object = _upload_object(folders)
    candidates = [name for prefix in folders for name in _walk(storage, prefix)]
    candidates = [name for name in candidates if upload_object.match(name)]
    if not candidates:
        return
    referenced = {name for spec in owned for name in spec.stored_names() if name}
    in_flight = {
        str(pk)
        for pk in UploadTracking.objects.filter(status__in=[UploadStatus.PENDING, UploadStatus.PROCESSING]).values_list(
            "pk", flat=True
        )
    }
    cutoff = timezone.now() - timedelta(seconds=grace)
    for name in candidates:
        if name in referenced or upload_object.match(name).group(2) in in_flight:
            continue
        try:
            if storage.get_modified_time(name) > cutoff:
                continue
        except (FileNotFoundError, NotImplementedError):
            continue
        report.objects_removed.append(name)
        if not dry_run:
            storage.delete(name)


def _walk(storage, folder: str):
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from _walk(storage, f"{folder}/{directory}")
