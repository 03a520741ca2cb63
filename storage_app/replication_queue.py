"""Queueing a file's replication by task name, so FallbackStorage never imports the task module.

The task (storage_app.tasks.replicate_file_task) is looked up in the Celery app, which registers it
when it finalizes; without a broker `apply_async` runs it in-process. A broker outage is logged and
the file waits for the periodic catch-up (storage_app.replication.replicas_catch_up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import current_app

logger = logging.getLogger(__name__)

REPLICATE_TASK = "storage_app.replicate_file"

# storage_app.replication.replicas_ensure, registered by the app's ready() (the replication module
# imports FallbackStorage, which queues through this module: no import cycle).
_replicate: Callable[[Any, str], Any] | None = None


def register_replicator(func: Callable[[Any, str], Any]) -> None:
    global _replicate
    _replicate = func


def replicate_here(storage: Any, name: str) -> None:
    """Copy `name` in this process (a chain a worker cannot rebuild); a failure waits for the catch-up."""
    if _replicate is None:
        logger.warning("no replicator registered (storage_app not ready); %s keeps one copy for now", name)
        return
    try:
        _replicate(storage, name)
    except Exception as exc:
        logger.warning("replication of %s failed (%s); the catch-up will copy it", name, exc)


def enqueue_replication(name: str) -> bool:
    try:
        current_app.tasks[REPLICATE_TASK].apply_async((name,))
    except Exception as exc:  # kombu raises several types for an unreachable broker
        logger.warning("could not queue replication of %s (%s); the periodic catch-up will copy it", name, exc)
        return False
    return True
