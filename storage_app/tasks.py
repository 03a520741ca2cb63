"""Celery tasks of the storage layer (found by Celery's autodiscovery of `tasks` modules)."""

from __future__ import annotations

import threading

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings

from storage_app.health import warn_if_misconfigured
from storage_app.replication import replicas_catch_up, replicas_ensure
from storage_app.replication_queue import REPLICATE_TASK
from storage_app.scrub import storage_scrub
from storage_app.services.relocation import RelocationBusy, TargetUnavailable, storage_reconcile

# Time limits enforced by the prefork pool (production); a run cut short resumes at the next one.
LIMITS = {"soft_time_limit": settings.TASK_SOFT_TIME_LIMIT, "time_limit": settings.TASK_TIME_LIMIT}


@shared_task(name="storage_app.reconcile_storage", acks_late=True, **LIMITS)
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


@shared_task(name=REPLICATE_TASK, acks_late=True, **LIMITS)
def replicate_file_task(name: str) -> dict:
    """Copy one stored file to the backends it lacks a verified copy on (a failed copy waits for the catch-up)."""
    return replicas_ensure(None, name).as_dict()


@shared_task(name="storage_app.replicate_missing", acks_late=True, **LIMITS)
def replicate_missing_task() -> dict:
    """The periodic catch-up: files short of copies (lost messages, outages), retried on their backoff."""
    return replicas_catch_up().as_dict()


@shared_task(name="storage_app.scrub_storage", acks_late=True, **LIMITS)
def scrub_storage_task(sample: int | None = None) -> dict:
    """Scrub as a task (repairing): every copy read back against the recorded SHA-256."""
    return storage_scrub(sample=sample, repair=True).as_dict()


@worker_ready.connect
def _warn_at_start(**kwargs) -> None:
    """A worker says at start which backend is misconfigured (a probe in the background: start-up is not held)."""
    if settings.STORAGE_STARTUP_CHECK:
        threading.Thread(target=warn_if_misconfigured, name="storage-startup-check", daemon=True).start()
