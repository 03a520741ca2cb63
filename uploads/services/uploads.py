"""Accepting an upload: validate, write it to the temporary area, track it, promote it after commit."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from django.conf import settings
from django.db import transaction

from uploads import kinds
from uploads.models import UploadKind, UploadStatus, UploadTracking
from uploads.services.promotion import upload_promote
from uploads.services.queue import enqueue_promotion
from uploads.services.temporary import temporary_from
from uploads.validation import UploadRejected, clean_filename, sniff_type

logger = logging.getLogger(__name__)

_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;[ -~]*)?$")


def upload_create(
    *,
    owner,
    file,
    kind: str,
    filename: str | None = None,
    target=None,
    content_type: str | None = None,
    promote_now: bool = False,
    storage=None,
) -> UploadTracking:
    """Track a new upload and queue its promotion to permanent storage.

    `target` is the row the file is for (an inventory item, a document): the kind's registered
    target model, owned by `owner`. Without one, the kind creates it (uploads.kinds): an image
    without an item creates an item named after the file, a document a Document row, as the seed
    did. Anything refused raises UploadRejected and leaves no row, no temporary file and no object
    behind.

    Kind `file` (storage_manager's) is any type, attached to nothing: `content_type` is the
    caller's (images and documents are typed from their content instead), and the file goes to
    `users/<owner>/<upload>/<filename>` (promotion.permanent_name).

    `promote_now` runs the promotion in this process right after the commit instead of queueing it,
    for callers that must answer with the permanent location (storage_manager.store_file); the
    path through tracking, the temporary area and the sweep is the same. `storage` is the one that
    promotion uses (default_storage when None).
    """
    if kind not in UploadKind.values:
        raise UploadRejected(f"Unknown upload kind {kind!r}; use image or document.", code="invalid_kind")
    spec = kinds.get(kind)
    if spec.content_class is None:
        if target is not None:
            raise UploadRejected("A plain file is attached to no item or document.", code="invalid_target")
        if not isinstance(content_type, str) or len(content_type) > 255 or not _CONTENT_TYPE.match(content_type):
            raise UploadRejected(
                f"A plain file needs a MIME type such as 'text/csv', not {content_type!r}.", code="invalid_content_type"
            )
    elif content_type is not None:
        raise UploadRejected("The type of an image or document is read from its content.", code="invalid_content_type")
    if target is not None and (
        spec.target_model is None or not isinstance(target, spec.target_model) or target.owner_id != owner.pk
    ):
        raise UploadRejected(f"No such {_target_label(spec)}.", code="invalid_target")
    name = clean_filename(filename if filename is not None else getattr(file, "name", "") or "")

    temporary = temporary_from(file, max_size=settings.UPLOAD_MAX_SIZE)
    try:
        if spec.content_class is not None:
            content_type = sniff_type(temporary.path, kind=spec.content_class, filename=name).content_type
        with transaction.atomic():
            if spec.target_field is not None and target is None:
                title = (Path(name).stem or name)[:255]
                target = spec.create_target(owner=owner, title=title, content_type=content_type, size=temporary.size)
            upload = UploadTracking.objects.create(
                owner=owner,
                original_filename=name,
                content_type=content_type,
                size=temporary.size,
                checksum=temporary.checksum,
                kind=kind,
                status=UploadStatus.PENDING,
                temp_path=temporary.name,
                **({spec.target_field: target} if spec.target_field else {}),
            )
            if not promote_now:
                transaction.on_commit(lambda: enqueue_promotion(upload.pk))
    except BaseException:
        temporary.path.unlink(missing_ok=True)
        raise
    if promote_now:
        upload_promote(upload_id=upload.pk, storage=storage)
        upload.refresh_from_db()
    return upload


def _target_label(spec: kinds.UploadKindSpec) -> str:
    model = spec.target_model
    return str(model._meta.verbose_name) if model is not None else "target"


def upload_retry(*, upload: UploadTracking) -> bool:
    """Queue a failed or stuck upload again (the admin's retry action); False when there is nothing to retry."""
    with transaction.atomic():
        upload = UploadTracking.objects.select_for_update().get(pk=upload.pk)
        if upload.status == UploadStatus.COMPLETE:
            return False
        upload.status = UploadStatus.PENDING
        upload.attempts = 0
        upload.processing_started_at = None
        upload.save(update_fields=["status", "attempts", "processing_started_at", "updated_at"])
        transaction.on_commit(lambda: enqueue_promotion(upload.pk))
    return True
