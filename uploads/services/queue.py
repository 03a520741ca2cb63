"""Queueing the promotion task without importing the task module (uploads.tasks imports the services).

The task is looked up by name in the Celery app, which registers it when the app finalizes
(autodiscovery of `uploads.tasks`); `apply_async` runs it in-process when no broker is set.
"""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)

PROMOTE_TASK = "uploads.promote_upload"


def enqueue_promotion(upload_id: int, *, countdown: float | None = None) -> bool:
    """Send the promotion task; a broker outage is logged and the row stays pending for the sweep."""
    try:
        current_app.tasks[PROMOTE_TASK].apply_async((upload_id,), countdown=countdown)
    except Exception as exc:  # kombu raises several types for an unreachable broker
        logger.warning("could not queue promotion of upload %s (%s); the sweep will retry", upload_id, exc)
        return False
    return True
