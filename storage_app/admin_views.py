"""The staff-only storage health page of the admin: every backend's probe, the upload queue, pending deletes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db.models import Count, Min
from django.template.response import TemplateResponse
from django.utils import timezone

from storage_app.models import PendingDeletion, UploadStatus, UploadTracking


def upload_queue_summary() -> dict[str, Any]:
    """How many uploads are in each status, how old the oldest unfinished one is, and the deletes awaiting retry."""
    counts = dict(UploadTracking.objects.values_list("status").annotate(n=Count("id")).order_by())
    oldest = UploadTracking.objects.filter(status__in=[UploadStatus.PENDING, UploadStatus.PROCESSING]).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    return {
        "statuses": [(label, counts.get(value, 0), value) for value, label in UploadStatus.choices],
        "oldest_unfinished_age": (timezone.now() - oldest) if oldest else None,
        "pending_deletions": PendingDeletion.objects.count(),
    }


def _plain(value: Any) -> Any:
    """Dataclasses and mappings as plain dicts, so the template reads any report shape the same way."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if hasattr(value, "as_dict"):
        return _plain(value.as_dict())
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def storage_health_view(request):
    from storage_app.health import storage_health  # the probes of every configured backend

    report = _plain(storage_health())
    context = {
        **admin.site.each_context(request),
        "title": "Storage health",
        "report": report,
        "queue": upload_queue_summary(),
    }
    return TemplateResponse(request, "admin/storage_health.html", context)
