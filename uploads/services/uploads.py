"""Accepting an upload: validate, write it to the temporary area, track it, promote it after commit."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from django.conf import settings
from django.db import transaction

from documents.models import Document
from inventory.models import InventoryItem
from uploads.models import UploadKind, UploadStatus, UploadTracking
from uploads.services.temporary import file_chunks, write_temporary
from uploads.validation import UploadRejected, clean_filename, sniff_type

logger = logging.getLogger(__name__)

_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;[ -~]*)?$")


def upload_create(
    *,
    owner,
    file,
    kind: str,
    filename: str | None = None,
    inventory_item: InventoryItem | None = None,
    document: Document | None = None,
    content_type: str | None = None,
    promote_now: bool = False,
    storage=None,
) -> UploadTracking:
    """Track a new upload and queue its promotion to permanent storage.

    An image without an item creates an item named after the file, a document without a
    Document row creates one, as the seed did. Anything refused raises UploadRejected and leaves
    no row, no temporary file and no object behind.

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
    if kind == UploadKind.FILE:
        if inventory_item is not None or document is not None:
            raise UploadRejected("A plain file is attached to no item or document.", code="invalid_target")
        if not isinstance(content_type, str) or len(content_type) > 255 or not _CONTENT_TYPE.match(content_type):
            raise UploadRejected(
                f"A plain file needs a MIME type such as 'text/csv', not {content_type!r}.", code="invalid_content_type"
            )
    elif content_type is not None:
        raise UploadRejected("The type of an image or document is read from its content.", code="invalid_content_type")
    if inventory_item is not None and (kind != UploadKind.IMAGE or inventory_item.owner_id != owner.pk):
        raise UploadRejected("No such inventory item.", code="invalid_target")
    if document is not None and (kind != UploadKind.DOCUMENT or document.owner_id != owner.pk):
        raise UploadRejected("No such document.", code="invalid_target")
    name = clean_filename(filename if filename is not None else getattr(file, "name", "") or "")

    temporary = write_temporary(file_chunks(file), max_size=settings.UPLOAD_MAX_SIZE)
    try:
        if kind != UploadKind.FILE:
            content_type = sniff_type(temporary.path, kind=kind, filename=name).content_type
        with transaction.atomic():
            title = Path(name).stem or name
            if kind == UploadKind.IMAGE and inventory_item is None:
                inventory_item = InventoryItem.objects.create(owner=owner, name=title[:255])
            if kind == UploadKind.DOCUMENT and document is None:
                document = Document.objects.create(
                    owner=owner, title=title[:255], content_type=content_type, size=temporary.size
                )
            upload = UploadTracking.objects.create(
                owner=owner,
                original_filename=name,
                content_type=content_type,
                size=temporary.size,
                checksum=temporary.checksum,
                kind=kind,
                status=UploadStatus.PENDING,
                temp_path=temporary.name,
                inventory_item=inventory_item,
                document=document,
            )
            if not promote_now:
                transaction.on_commit(lambda: enqueue_promotion(upload.pk))
    except BaseException:
        temporary.path.unlink(missing_ok=True)
        raise
    if promote_now:
        from uploads.services.promotion import upload_promote

        upload_promote(upload_id=upload.pk, storage=storage)
        upload.refresh_from_db()
    return upload


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


def enqueue_promotion(upload_id: int, *, countdown: float | None = None) -> bool:
    """Send the promotion task; a broker outage is logged and the row stays pending for the sweep."""
    from uploads.tasks import promote_upload_task

    try:
        promote_upload_task.apply_async((upload_id,), countdown=countdown)
    except Exception as exc:  # kombu raises several types for an unreachable broker
        logger.warning("could not queue promotion of upload %s (%s); the sweep will retry", upload_id, exc)
        return False
    return True
