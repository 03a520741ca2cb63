"""Celery tasks of the upload pipeline: thin wrappers over its services."""

from celery import shared_task

from uploads.services.promotion import upload_promote
from uploads.services.queue import PROMOTE_TASK, enqueue_promotion
from uploads.services.sweep import uploads_requeue, uploads_sweep


@shared_task(name=PROMOTE_TASK, acks_late=True, reject_on_worker_lost=True)
def promote_upload_task(upload_id: int) -> str:
    result = upload_promote(upload_id=upload_id)
    if result.status == "retry":
        enqueue_promotion(upload_id, countdown=result.retry_in)
    return result.status


@shared_task(name="uploads.sweep_uploads")
def sweep_uploads_task() -> dict:
    return uploads_sweep().as_dict()


@shared_task(name="uploads.requeue_uploads")
def requeue_uploads_task() -> list[int]:
    """Lost messages: pending uploads older than UPLOAD_REQUEUE_AFTER are queued again."""
    return uploads_requeue()
