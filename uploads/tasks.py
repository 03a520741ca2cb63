"""Celery tasks of the upload pipeline (imported by StorageAppConfig.ready so workers register them)."""

from celery import shared_task

from uploads.services.promotion import upload_promote
from uploads.services.sweep import uploads_sweep


@shared_task(name="uploads.promote_upload", acks_late=True, reject_on_worker_lost=True)
def promote_upload_task(upload_id: int) -> str:
    from uploads.services.uploads import enqueue_promotion

    result = upload_promote(upload_id=upload_id)
    if result.status == "retry":
        enqueue_promotion(upload_id, countdown=result.retry_in)
    return result.status


@shared_task(name="uploads.sweep_uploads")
def sweep_uploads_task() -> dict:
    return uploads_sweep().as_dict()
