"""Deleting stored files after the database says so.

The deletes are the storage library's: with FallbackStorage (the default storage) a delete marks
the file's location record `deleting` and removes its objects; one a backend could not take now
stays in that record, the ledger of deferred deletes, and storage_app.deletions retries it (the
sweep calls it). Nothing is written down here. With another storage a failed delete is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction

logger = logging.getLogger(__name__)


def files_delete_on_commit(names: Iterable[str], *, storage=None) -> None:
    """Delete `names` once the current transaction commits (at once outside one).

    A rolled-back delete of a row must not have removed its file, hence the wait for the commit.
    """
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: files_delete_now(names, storage=storage))


def files_delete_now(names: Iterable[str], *, storage=None) -> list[str]:
    """Delete each name; return the ones whose delete raised (FallbackStorage keeps them in its ledger)."""
    storage = storage or default_storage
    failed = []
    for name in names:
        try:
            storage.delete(name)
        except Exception as exc:
            failed.append(name)
            logger.warning("could not delete %s now (%s: %s)", name, type(exc).__name__, exc)
    return failed
