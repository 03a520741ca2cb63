"""Reads of the storage app: what a user may see of their uploads."""

from django.db.models import QuerySet

from storage_app.models import UploadTracking


def upload_list(*, owner, status: str | None = None) -> QuerySet[UploadTracking]:
    uploads = UploadTracking.objects.filter(owner=owner)
    if status:
        uploads = uploads.filter(status=status)
    return uploads.order_by("-created_at", "-id")


def upload_get(*, owner, upload_id: int) -> UploadTracking | None:
    return UploadTracking.objects.filter(owner=owner, pk=upload_id).first()
