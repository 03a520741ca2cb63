"""Reads of the storage app: what a user may see of their uploads, and upload facts shown beside items and documents."""

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from storage_app.models import StoredFile, StoredFileState
from uploads.models import UploadStatus, UploadTracking


def with_stored_backend(uploads: QuerySet[UploadTracking]) -> QuerySet[UploadTracking]:
    """`uploads` annotated with `stored_backend`: where the permanent file lives now, from its location record.

    The row's own `permanent_backend` says where promotion stored it; reconcile and migrate move files
    afterwards, and only the location record follows. A file with no record keeps the row's value.
    """
    home = StoredFile.objects.filter(name=OuterRef("permanent_name"), state=StoredFileState.STORED)
    return uploads.annotate(stored_backend=Coalesce(Subquery(home.values("backend")[:1]), F("permanent_backend")))


def upload_list(*, owner, status: str | None = None) -> QuerySet[UploadTracking]:
    uploads = UploadTracking.objects.filter(owner=owner)
    if status:
        uploads = uploads.filter(status=status)
    return with_stored_backend(uploads).order_by("-created_at", "-id")


def upload_get(*, owner, upload_id: int) -> UploadTracking | None:
    return with_stored_backend(UploadTracking.objects.filter(owner=owner, pk=upload_id)).first()


def _newest_uploads(via: str) -> QuerySet[UploadTracking]:
    return UploadTracking.objects.filter(**{via: OuterRef("pk")}).order_by("-created_at", "-id")


def with_upload_status(rows: QuerySet, *, via: str) -> QuerySet:
    """`rows` annotated with `upload_status`, the status of each row's newest upload through the foreign key `via`.

    A subquery rather than a join per row: a page costs the same number of queries whatever its size.
    """
    return rows.annotate(upload_status=Subquery(_newest_uploads(via).values("status")[:1]))


def with_original_filename(rows: QuerySet, *, via: str) -> QuerySet:
    """`rows` annotated with `original_filename`, the name the newest stored upload was sent with."""
    stored = _newest_uploads(via).filter(status=UploadStatus.COMPLETE)
    return rows.annotate(original_filename=Subquery(stored.values("original_filename")[:1]))
