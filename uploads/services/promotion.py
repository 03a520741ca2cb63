"""Promotion: moving a tracked upload from the temporary area to permanent storage.

Every step can crash. The design makes each crash leave a state that a re-run finishes:
- the permanent name is fixed by the upload's id, so a re-run writes the same object (or finds the
  one a crashed run wrote and checks its size and checksum) instead of creating a second one;
- the object is written outside any transaction, so its location record is committed with it;
- the status, the owning row and the permanent location change in one transaction;
- the temporary file is removed only after that commit; a re-run that finds it gone anyway (a lost
  local disk) makes the thumbnail from the permanent copy.
A row left 'processing' by a dead worker is re-queued by the sweep (see services/sweep.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction
from django.utils import timezone

from storage_app.backoff import Backoff
from storage_app.exceptions import StorageRejected
from uploads import kinds
from uploads.models import UploadStatus, UploadTracking
from uploads.services.deletion import files_delete_on_commit
from uploads.services.temporary import CHUNK_SIZE, temporary_path, temporary_root
from uploads.thumbnails import make_thumbnail
from uploads.validation import EXTENSIONS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromotionResult:
    status: str  # complete | already_complete | busy | missing | retry | error
    retry_in: float | None = None


def permanent_name(upload: UploadTracking) -> str:
    """`<kind folder>/<owner>/<upload>/<file>`: fixed by the upload's id, so a re-run writes the same name.

    A file typed by its caller (kind `file`) keeps its cleaned name; a typed one gets the extension
    of the type its content was found to be.
    """
    spec = kinds.get(upload.kind)
    folder = f"{spec.folder}/{upload.owner_id}/{upload.pk}"
    if spec.content_class is None:
        return f"{folder}/{upload.original_filename}"
    stem = Path(upload.original_filename).stem or "file"
    return f"{folder}/{stem}{EXTENSIONS.get(upload.content_type, '')}"


def thumbnail_name(upload: UploadTracking) -> str:
    return f"{kinds.get(upload.kind).folder}/{upload.owner_id}/{upload.pk}/thumbnail.jpg"


def backend_of(storage, name: str) -> str:
    """The alias of the backend holding `name`: FallbackStorage records it; a plain storage is itself."""
    if hasattr(storage, "backend_of"):
        return storage.backend_of(name)
    return getattr(storage, "alias", None) or ("local" if isinstance(storage, FileSystemStorage) else "unknown")


def upload_promote(*, upload_id: int, storage=None) -> PromotionResult:
    storage = storage or default_storage
    upload, state = _claim(upload_id)
    if state != "claimed":
        if state == "already_complete":
            temporary_path(upload.temp_path).unlink(missing_ok=True)
        return PromotionResult(status=state)
    _crash_point("before_upload")
    try:
        stored_name, thumb = _store(upload, storage)
    except StorageRejected as exc:
        _fail(upload, f"{type(exc).__name__}: {exc}", retriable=False)
        return PromotionResult(status="error")
    except SoftTimeLimitExceeded:
        raise  # the task records it (uploads.tasks): not an outage to retry
    except Exception as exc:
        # Outages (StorageUnavailable) and anything unexpected are retried until the budget is spent.
        logger.warning("promotion of upload %s failed: %s", upload.pk, exc)
        return _fail(upload, f"{type(exc).__name__}: {exc}", retriable=True)
    _crash_point("after_upload")
    result = _commit(upload, storage, stored_name, thumb)
    _crash_point("after_commit")
    temporary_path(upload.temp_path).unlink(missing_ok=True)
    return result


def _claim(upload_id: int) -> tuple[UploadTracking | None, str]:
    now = timezone.now()
    with transaction.atomic():
        upload = UploadTracking.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None:
            return None, "missing"
        if upload.status == UploadStatus.COMPLETE:
            return upload, "already_complete"
        stale_before = now - timedelta(seconds=settings.UPLOAD_STALE_AFTER)
        if (
            upload.status == UploadStatus.PROCESSING
            and upload.processing_started_at
            and upload.processing_started_at > stale_before
        ):
            return upload, "busy"
        if upload.attempts >= settings.UPLOAD_MAX_ATTEMPTS:
            upload.status = UploadStatus.ERROR
            upload.last_error = upload.last_error or f"gave up after {upload.attempts} attempts"
            upload.save(update_fields=["status", "last_error", "updated_at"])
            return upload, "error"
        upload.status = UploadStatus.PROCESSING
        upload.attempts += 1
        upload.processing_started_at = now
        upload.save(update_fields=["status", "attempts", "processing_started_at", "updated_at"])
    return upload, "claimed"


def _store(upload: UploadTracking, storage) -> tuple[str, str]:
    name = permanent_name(upload)
    temp = temporary_path(upload.temp_path)
    if storage.exists(name) and _same_content(storage, name, upload):
        stored = name  # written by a run that crashed before its commit
    else:
        if not temp.exists():
            raise FileNotFoundError(f"the temporary file of upload {upload.pk} is missing")
        storage.delete(name)  # a partial object of a crashed run, if any
        with temp.open("rb") as handle:
            content = File(handle, name=Path(name).name)
            content.content_type = upload.content_type  # stored with the object (S3, Vercel Blob)
            content.sha256 = upload.checksum  # hashed as it was written to the temporary area: not again
            stored = storage.save(name, content)
    thumb = ""
    if kinds.get(upload.kind).thumbnail:
        with _photo_bytes(temp, storage, stored) as source:
            thumb = _store_thumbnail(upload, storage, source)
    return stored, thumb


@contextmanager
def _photo_bytes(temp: Path, storage, stored: str) -> Iterator[Path | BinaryIO]:
    """The photo to make the thumbnail from: its temporary file, or the permanent copy when a retry finds that gone.

    Pillow seeks while it decodes and a remote object may not, so the permanent copy is streamed,
    chunk by chunk, into an unnamed local file that disappears when closed (or when the worker dies).
    """
    if temp.exists():
        yield temp
        return
    with tempfile.TemporaryFile(dir=temporary_root()) as copy:
        with storage.open(stored, "rb") as handle:
            shutil.copyfileobj(handle, copy, CHUNK_SIZE)
        copy.seek(0)
        yield copy


def _store_thumbnail(upload: UploadTracking, storage, source: Path | BinaryIO) -> str:
    name = thumbnail_name(upload)
    try:
        data = make_thumbnail(source)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # a photo Pillow can verify but not resize still gets stored
        logger.warning("no thumbnail for upload %s: %s", upload.pk, exc)
        return ""
    storage.delete(name)
    return storage.save(name, ContentFile(data, name="thumbnail.jpg"))


def _same_content(storage, name: str, upload: UploadTracking) -> bool:
    try:
        if storage.size(name) != upload.size:
            return False
        digest = hashlib.sha256()
        with storage.open(name, "rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                digest.update(chunk)
    except FileNotFoundError:
        return False
    return digest.hexdigest() == upload.checksum


def _commit(upload: UploadTracking, storage, stored_name: str, thumb: str) -> PromotionResult:
    now = timezone.now()
    orphaned: list[str] = []
    with transaction.atomic():
        locked = UploadTracking.objects.select_for_update().get(pk=upload.pk)
        if locked.status == UploadStatus.COMPLETE:
            return PromotionResult(status="already_complete")
        spec = kinds.get(locked.kind)
        target_gone = False
        if spec.target_field is not None:
            target = spec.target_model.objects.select_for_update().filter(pk=spec.target_of(locked)).first()
            if target is None:
                target_gone = True
            else:
                orphaned = spec.attach(target, locked, stored_name, thumb)
        if target_gone:
            # The item or document was deleted while its file was on the way: keep nothing of it.
            locked.status = UploadStatus.ERROR
            locked.last_error = "the owning item or document was deleted before the file was stored"
            locked.save(update_fields=["status", "last_error", "updated_at"])
            orphaned = [stored_name, thumb]
        else:
            locked.status = UploadStatus.COMPLETE
            locked.permanent_name = stored_name
            locked.permanent_backend = backend_of(storage, stored_name)
            locked.completed_at = now
            locked.last_error = ""
            locked.save(
                update_fields=[
                    "status",
                    "permanent_name",
                    "permanent_backend",
                    "completed_at",
                    "last_error",
                    "updated_at",
                ]
            )
        files_delete_on_commit(orphaned, storage=storage)
    return PromotionResult(status="error" if target_gone else "complete")


def _fail(upload: UploadTracking, message: str, *, retriable: bool) -> PromotionResult:
    with transaction.atomic():
        locked = UploadTracking.objects.select_for_update().get(pk=upload.pk)
        locked.last_error = message[:2000]
        locked.processing_started_at = None
        give_up = not retriable or locked.attempts >= settings.UPLOAD_MAX_ATTEMPTS
        locked.status = UploadStatus.ERROR if give_up else UploadStatus.PENDING
        locked.save(update_fields=["status", "last_error", "processing_started_at", "updated_at"])
    if give_up:
        return PromotionResult(status="error")
    return PromotionResult(status="retry", retry_in=PROMOTION_RETRY.delay(locked.attempts))


def upload_give_up(*, upload_id: int, message: str) -> PromotionResult:
    """Mark an upload `error` with `message` (its task stopped at a time limit or kept killing its worker)."""
    with transaction.atomic():
        upload = UploadTracking.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None:
            return PromotionResult(status="missing")
        if upload.status == UploadStatus.COMPLETE:
            return PromotionResult(status="already_complete")
        upload.status = UploadStatus.ERROR
        upload.last_error = message[:2000]
        upload.processing_started_at = None
        upload.save(update_fields=["status", "last_error", "processing_started_at", "updated_at"])
    logger.warning("upload %s given up: %s", upload_id, message)
    return PromotionResult(status="error")


# The retry after a failed attempt (the shared policy, storage_app.backoff): 2, 4, 8, ... seconds, at most five minutes.
PROMOTION_RETRY = Backoff(base=2.0, cap=300.0)


def _crash_point(name: str) -> None:
    """Fault injection for the crash-safety tests: the process kills itself at the named point."""
    if name == settings.UPLOAD_CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)
