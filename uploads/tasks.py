"""Celery tasks of the upload pipeline: thin wrappers over its services."""

from celery import shared_task

from uploads.services.direct import upload_finish
from uploads.services.queue import PROMOTE_TASK, enqueue_promotion
from uploads.services.sweep import uploads_sweep


@shared_task(name=PROMOTE_TASK, acks_late=True, reject_on_worker_lost=True)
def promote_upload_task(upload_id: int) -> str:
    result = upload_finish(upload_id=upload_id)
    if result.status == "retry":
        enqueue_promotion(upload_id, countdown=result.retry_in)
    return result.status


@shared_task(name="uploads.sweep_uploads")
def sweep_uploads_task() -> dict:
    return uploads_sweep().as_dict()
