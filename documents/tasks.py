"""Celery tasks of the documents app (found by the worker through autodiscovery)."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from documents.embedders import EmbedderUnavailable
from documents.services.processing import DocumentFileUnavailable, document_fail, document_process
from uploads.redelivery import BoundedTask, soft_limit_message

MAX_RETRIES = 6
RETRY_CAP_SECONDS = 600


class DocumentTask(BoundedTask):
    # Counted per document: a file that kills its worker (out of memory, hard time limit) ends `error`.
    def loss_key(self, document_id: int, *args, **kwargs) -> str:
        return f"{self.name}:{document_id}"

    def give_up(self, message: str, document_id: int, *args, **kwargs) -> str:
        return document_fail(document_id=document_id, message=message).status


@shared_task(
    bind=True, base=DocumentTask, name="documents.process_document", acks_late=True, reject_on_worker_lost=True
)
def document_process_task(self, document_id: int) -> str:
    """Extract, chunk and embed one document; retried with backoff while the embedder or the file store is down."""
    try:
        return document_process(document_id=document_id).status
    except SoftTimeLimitExceeded:
        return document_fail(document_id=document_id, message=soft_limit_message()).status
    except (EmbedderUnavailable, DocumentFileUnavailable) as exc:
        if self.request.is_eager:
            # Eager mode (no broker) would retry at once, in the request: the document keeps its error
            # status and `manage.py reembed --reextract` or a new upload processes it again.
            return "error"
        countdown = min(30 * 2**self.request.retries, RETRY_CAP_SECONDS)
        raise self.retry(exc=exc, countdown=countdown, max_retries=MAX_RETRIES) from None


@shared_task(bind=True, name="documents.reembed_document", acks_late=True, reject_on_worker_lost=True)
def document_reembed_task(self, document_id: int, model: str | None = None, keep_other_models: bool = False) -> int:
    """Re-embed one document's stored chunks on a worker (`manage.py reembed --queue`): workers add up."""
    from documents.embedders import get_embedder
    from documents.services.reembedding import document_reembed

    embedder = get_embedder(model) if model else get_embedder()
    try:
        return document_reembed(document_id=document_id, embedder=embedder, keep_other_models=keep_other_models)
    except EmbedderUnavailable as exc:
        if self.request.is_eager:
            raise  # in the command's own process: it reports the document and stops
        countdown = min(30 * 2**self.request.retries, RETRY_CAP_SECONDS)
        raise self.retry(exc=exc, countdown=countdown, max_retries=MAX_RETRIES) from None
