"""The staff-only storage health page of the admin: every backend's probe, the upload queue, pending deletes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db.models import Count, Min
from django.utils import timezone
from django.views.generic import TemplateView

from storage_app.models import StoredFile, StoredFileState
from uploads.models import UploadStatus, UploadTracking

HEALTHY_WORDS = {"ok", "healthy", "up", "available", "pass", "passed", "closed"}
# Keys that say whether a backend is healthy or what went wrong; every other key is shown as a detail.
_VERDICT_KEYS = ("ok", "healthy", "available")
_NAME_KEYS = ("name", "alias", "backend")


def upload_queue_summary() -> dict[str, Any]:
    """How many uploads are in each status, how old the oldest unfinished one is, and the deletes awaiting retry."""
    counts = dict(UploadTracking.objects.values_list("status").annotate(n=Count("id")).order_by())
    oldest = UploadTracking.objects.filter(status__in=[UploadStatus.PENDING, UploadStatus.PROCESSING]).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    return {
        "statuses": [(label, counts.get(value, 0), value) for value, label in UploadStatus.choices],
        "oldest_unfinished_age": (timezone.now() - oldest).total_seconds() // 1 if oldest else None,
        "pending_deletions": StoredFile.objects.filter(state=StoredFileState.DELETING).count(),
    }


def plain(value: Any) -> Any:
    """Dataclasses, `as_dict()` objects and mappings as plain dicts, lists as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if hasattr(value, "as_dict"):
        return plain(value.as_dict())
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _verdict(info: dict) -> bool | None:
    for key in _VERDICT_KEYS:
        if isinstance(info.get(key), bool):
            return info[key]
    status = info.get("status")
    if isinstance(status, str):
        return status.lower() in HEALTHY_WORDS
    return None


STATUS_LABELS = {"ok": "OK", "failing": "Failing", "timeout": "Timed out", "not_configured": "Not configured"}
NEUTRAL_STATUSES = {"not_configured", "unknown"}


def breaker_words(breaker: Any) -> str:
    """A breaker snapshot (storage_app.breakers) as a sentence for people."""
    if not isinstance(breaker, dict) or "state" not in breaker:
        return "—"
    state = breaker["state"]
    failures, fail_max = breaker.get("consecutive_failures"), breaker.get("fail_max")
    if state == "closed":
        if failures:
            return f"Closed: taking requests ({failures} of {fail_max} outages in a row)"
        return "Closed: taking requests"
    if state == "open":
        retry_in = breaker.get("retry_in")
        when = f"; one trial request in {retry_in:.0f} s" if isinstance(retry_in, int | float) else ""
        return f"Open: skipped after {failures} outages in a row{when}"
    if state == "half-open":
        return "Half-open: one trial request decides"
    return str(state)


def _presentation(info: dict, healthy: bool | None, status: str) -> dict[str, str]:
    """How the page shows a backend: a badge (ok, bad, neutral), its role, latency, breaker and note in words."""
    if status in NEUTRAL_STATUSES or info.get("configured") is False:
        badge = "neutral"  # not configured is a choice, not a failure
    else:
        badge = "ok" if healthy else "bad" if healthy is False else "neutral"
    latency = info.get("latency_ms")
    return {
        "badge": badge,
        "status_label": STATUS_LABELS.get(status, status.replace("_", " ").capitalize()),
        "role": str(info.get("role") or "—").capitalize() if info.get("role") else "—",
        "latency": f"{latency:.1f} ms" if isinstance(latency, int | float) else "—",
        "breaker": breaker_words(info.get("breaker")),
        "note": str(info.get("error") or info.get("reason") or ""),
    }


def health_overview(report: Any) -> tuple[str, list[dict]]:
    """The overall status and one row per backend from the health report, whatever its container types."""
    report = plain(report)
    if not isinstance(report, dict):
        return str(report), []
    raw = report.get("backends", report.get("checks", []))
    if isinstance(raw, dict):
        raw = [{"name": name, **(info if isinstance(info, dict) else {"status": info})} for name, info in raw.items()]
    rows = []
    for info in raw:
        name = next((str(info[key]) for key in _NAME_KEYS if key in info), "?")
        healthy = _verdict(info)
        status = info.get("status") or ("ok" if healthy else "failing" if healthy is False else "unknown")
        skip = {*_NAME_KEYS, *_VERDICT_KEYS, "status"}
        details = [(key, value) for key, value in info.items() if key not in skip and value not in (None, "", [], {})]
        rows.append(
            {
                "name": name,
                "healthy": healthy,
                "status": status,
                "details": details,
                **_presentation(info, healthy, str(status)),
            }
        )
    overall = report.get("status") or report.get("overall")
    if overall is None:
        verdicts = [row["healthy"] for row in rows]
        overall = "healthy" if verdicts and all(verdicts) else "degraded" if any(verdicts) else "unhealthy"
    return str(overall), rows


def _backend_report() -> Any | None:
    """The storage layer's own probe of every configured backend (storage_app.health), None if not installed."""
    try:
        from storage_app.health import storage_health
    except ModuleNotFoundError as exc:
        if exc.name != "storage_app.health":
            raise
        return None
    return storage_health()


class StorageHealthView(TemplateView):
    """The page itself; InstantoryAdminSite mounts it with `admin_site=self`, behind its admin_view()."""

    admin_site: admin.AdminSite | None = None
    template_name = "admin/storage_health.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # As the site's own views do: {% url 'admin:...' %} resolves in this site's namespace.
        self.request.current_app = self.admin_site.name
        report = _backend_report()
        overall, backends = health_overview(report) if report is not None else ("unknown", [])
        return {
            **self.admin_site.each_context(self.request),
            **super().get_context_data(**kwargs),
            "title": "Storage health",
            "overall": overall,
            "backends": backends,
            "probes_installed": report is not None,
            "checked_at": timezone.now(),
            "queue": upload_queue_summary(),
        }
