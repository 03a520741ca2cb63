"""Deleting stored files after the database says so, and never forgetting one whose backend was down."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from storage_app.models import PendingDeletion

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 6 * 3600


def files_delete_on_commit(names: Iterable[str], *, storage=None) -> None:
    """Delete `names` once the current transaction commits (at once outside one).

    A rolled-back delete of a row must not have removed its file, hence the wait for the commit.
    A delete that fails is written down as a PendingDeletion and retried by the sweep.
    """
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: files_delete_now(names, storage=storage))


def files_delete_now(names: Iterable[str], *, storage=None) -> list[str]:
    """Delete each name; return the ones that failed (now recorded for a retry)."""
    storage = storage or default_storage
    failed = []
    for name in names:
        try:
            storage.delete(name)
        except Exception as exc:
            failed.append(name)
            _record_failure(name, exc)
        else:
            PendingDeletion.objects.filter(name=name).delete()
    return failed


def pending_deletions_retry(*, storage=None, limit: int = 500) -> tuple[list[str], list[str]]:
    """Retry the deletions that are due; returns (deleted, still failing)."""
    due = list(
        PendingDeletion.objects.filter(next_attempt_at__lte=timezone.now()).values_list("name", flat=True)[:limit]
    )
    failed = files_delete_now(due, storage=storage)
    return [name for name in due if name not in failed], failed


def _record_failure(name: str, exc: Exception) -> None:
    logger.warning("could not delete %s (%s); it will be retried", name, exc)
    now = timezone.now()
    pending, _ = PendingDeletion.objects.get_or_create(name=name, defaults={"next_attempt_at": now})
    pending.attempts += 1
    pending.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    pending.next_attempt_at = now + timedelta(seconds=min(30 * 2**pending.attempts, MAX_BACKOFF_SECONDS))
    pending.save(update_fields=["attempts", "last_error", "next_attempt_at"])
