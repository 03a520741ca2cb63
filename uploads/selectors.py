"""Reads of the storage app: what a user may see of their uploads, and upload facts shown beside items and documents."""

from django.db.models import OuterRef, QuerySet, Subquery

from uploads.models import UploadStatus, UploadTracking


def upload_list(*, owner, status: str | None = None) -> QuerySet[UploadTracking]:
    uploads = UploadTracking.objects.filter(owner=owner)
    if status:
        uploads = uploads.filter(status=status)
    return uploads.order_by("-created_at", "-id")


def upload_get(*, owner, upload_id: int) -> UploadTracking | None:
    return UploadTracking.objects.filter(owner=owner, pk=upload_id).first()


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
