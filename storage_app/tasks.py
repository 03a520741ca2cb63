"""Celery tasks of the storage layer (found by Celery's autodiscovery of `tasks` modules)."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from storage_app.services.relocation import RelocationBusy, TargetUnavailable, storage_reconcile


# Time limits enforced by the prefork pool (production); a run cut short resumes at the next one.
@shared_task(
    name="storage_app.reconcile_storage",
    acks_late=True,
    soft_time_limit=settings.TASK_SOFT_TIME_LIMIT,
    time_limit=settings.TASK_TIME_LIMIT,
)
def reconcile_storage_task(dry_run: bool = False) -> dict:
    """reconcile_storage as a task: schedule it with beat; a run while the primary is down changes nothing."""
    try:
        report = storage_reconcile(dry_run=dry_run)
    except TargetUnavailable as exc:
        return {"status": "primary_unavailable", "detail": str(exc)}
    except RelocationBusy as exc:
        return {"status": "busy", "detail": str(exc)}
    except SoftTimeLimitExceeded:
        return {"status": "time_limit", "detail": f"stopped after {settings.TASK_SOFT_TIME_LIMIT} s"}
    return {"status": "done" if report.ok else "partial", **report.as_dict()}
