"""Celery tasks of the upload pipeline: thin wrappers over its services."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from uploads.redelivery import BoundedTask, soft_limit_message
from uploads.services.direct import upload_finish
from uploads.services.promotion import upload_give_up
from uploads.services.queue import PROMOTE_TASK, enqueue_promotion
from uploads.services.sweep import uploads_requeue, uploads_sweep


class PromotionTask(BoundedTask):
    # Counted per upload: one whose promotion kills its worker (a thumbnail out of memory) ends `error`.
    def loss_key(self, upload_id: int, *args, **kwargs) -> str:
        return f"{self.name}:{upload_id}"

    def give_up(self, message: str, upload_id: int, *args, **kwargs) -> str:
        return upload_give_up(upload_id=upload_id, message=message).status


@shared_task(base=PromotionTask, name=PROMOTE_TASK, acks_late=True, reject_on_worker_lost=True)
def promote_upload_task(upload_id: int) -> str:
    try:
        result = upload_finish(upload_id=upload_id)  # a direct upload is finished, a server one promoted
    except SoftTimeLimitExceeded:
        return upload_give_up(upload_id=upload_id, message=soft_limit_message()).status
    if result.status == "retry":
        enqueue_promotion(upload_id, countdown=result.retry_in)
    return result.status


@shared_task(base=BoundedTask, name="uploads.sweep_uploads")
def sweep_uploads_task() -> dict:
    return uploads_sweep().as_dict()


@shared_task(base=BoundedTask, name="uploads.requeue_uploads")
def requeue_uploads_task() -> list[int]:
    """Lost messages: pending uploads older than UPLOAD_REQUEUE_AFTER are queued again."""
    return uploads_requeue()
