"""The processing task: run eagerly on the embedded defaults, and by a real Celery worker through Redis."""

import time

import pytest
from rest_framework.test import APIClient

from documents.extraction import PDF, PLAIN
from documents.models import Document, DocumentVector
from documents.tasks import document_process_task
from tests.documents.embedding_server import Scripted
from tests.documents.files import pdf_bytes, stored_document
from tests.uploads.files import uploaded

PRICE_LIST = "Wholesale price list: small beaded stool 45 USD, large beaded stool 80 USD, minimum order ten."


def wait_for(predicate, timeout: float = 60.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


@pytest.mark.django_db
def test_the_task_runs_eagerly_without_a_broker(user, settings, local_embedder):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    document = stored_document(user, "prices.txt", PRICE_LIST.encode(), PLAIN)
    assert document_process_task.delay(document.pk).get() == "complete"
    assert Document.objects.get(pk=document.pk).processing_status == "complete"
    assert DocumentVector.objects.filter(document_id=document.pk).exists()


@pytest.mark.django_db
def test_an_unavailable_embedder_in_eager_mode_leaves_an_error_instead_of_retrying_inline(
    user, settings, embedding_server
):
    settings.EMBEDDING_PROVIDER = "openai"
    settings.EMBEDDING_API_BASE = embedding_server.base_url
    settings.EMBEDDING_API_RETRIES = 0
    embedding_server.script = [Scripted(503, {"error": {"message": "maintenance"}})]
    document = stored_document(user, "prices.txt", PRICE_LIST.encode(), PLAIN)
    assert document_process_task.delay(document.pk).get() == "error"
    assert len(embedding_server.requests) == 1
    document.refresh_from_db()
    assert document.processing_status == "error"
    assert "maintenance" in document.processing_error


@pytest.mark.django_db(transaction=True)
def test_an_uploaded_document_is_processed_after_promotion_and_found_by_search(user, local_embedder):
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(
        "/api/documents/", {"file": uploaded("price-list.pdf", pdf_bytes([PRICE_LIST])), "title": "Stool prices"}
    )
    assert response.status_code == 201
    detail = client.get(f"/api/documents/{response.json()['id']}/").json()
    assert detail["processing_status"] == "complete"
    assert detail["page_count"] == 1
    hits = client.get("/api/documents/search", {"q": "how much is a big stool"}).json()["results"]
    assert hits[0]["title"] == "Stool prices"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_a_queued_document(celery_worker_process, user):
    celery_worker_process.start()
    document = stored_document(user, "price-list.pdf", pdf_bytes([PRICE_LIST]), PDF)
    document_process_task.delay(document.pk)
    wait_for(
        lambda: Document.objects.get(pk=document.pk).processing_status == "complete",
        message=f"the worker to process the document:\n{celery_worker_process.log()}",
    )
    vectors = DocumentVector.objects.filter(document_id=document.pk)
    assert vectors.count() >= 1
    assert set(vectors.values_list("embedding_model", flat=True)) == {"all-MiniLM-L6-v2-onnx-int8"}
    assert "documents.process_document" in celery_worker_process.log()
