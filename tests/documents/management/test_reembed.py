"""manage.py reembed: a model change re-embeds every document once, resumably, without mixing models."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from model_bakery import baker

from documents.models import Document, DocumentVector
from documents.selectors.search import document_search
from documents.services.processing import document_process
from tests.documents.embedding_server import Scripted
from tests.documents.files import stored_document

pytestmark = pytest.mark.django_db

LOCAL = "all-MiniLM-L6-v2-onnx-int8"
TEXTS = [
    "Supplier contract for beaded stools, payment within thirty days.",
    "Care of woven baskets: brush off dust, keep out of the sun.",
    "Shipping invoice for one container from Mombasa to Rotterdam.",
]


@pytest.fixture
def processed(user, local_embedder) -> list[Document]:
    documents = [stored_document(user, f"doc{i}.txt", text.encode(), "text/plain") for i, text in enumerate(TEXTS)]
    for document in documents:
        assert document_process(document_id=document.pk).status == "complete"
    return documents


@pytest.fixture
def openai_settings(settings, embedding_server):
    settings.EMBEDDING_PROVIDER = "openai"
    settings.EMBEDDING_API_BASE = embedding_server.base_url
    settings.EMBEDDING_MODEL = "text-embedding-3-small"
    settings.EMBEDDING_API_RETRIES = 0
    return settings


def models_of(document: Document) -> set[str]:
    return set(DocumentVector.objects.filter(document_id=document.pk).values_list("embedding_model", flat=True))


def reembed(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("reembed", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_model_change_reembeds_every_document_and_replaces_its_vectors(
    user, processed, openai_settings, embedding_server, capsys
):
    chunks_before = {
        d.pk: list(DocumentVector.objects.filter(document_id=d.pk).values_list("chunk_text")) for d in processed
    }

    out, _ = reembed()

    assert re.search(r"re-embedded 3 documents \(3 chunks, [0-9.]+ chunks/s\) with openai:text-embedding-3-small", out)
    assert "re-embedding (openai:text-embedding-3-small)" in capsys.readouterr().err  # the tqdm progress bar
    for document in processed:
        assert models_of(document) == {"openai:text-embedding-3-small"}
        chunks = list(DocumentVector.objects.filter(document_id=document.pk).values_list("chunk_text"))
        assert chunks == chunks_before[document.pk]  # the stored chunks, not a new extraction
    sent = [text for request in embedding_server.requests for text in request["json"]["input"]]
    assert sorted(sent) == sorted(TEXTS)
    results = document_search(owner=user, query="stools", k=5)
    assert results.model == "openai:text-embedding-3-small"
    assert len(results.results) == 3

    out, _ = reembed("--no-progress")
    assert "re-embedded 0 documents" in out  # nothing left to do: a second run is free


def test_an_interrupted_run_continues_where_it_stopped(processed, openai_settings, embedding_server):
    embedding_server.script = [Scripted(), Scripted(500, {"error": {"message": "boom"}})]
    with pytest.raises(CommandError, match=r"stopped at document \d+: .*boom.*Run the command again to continue"):
        reembed("--no-progress")
    done = [d for d in processed if models_of(d) == {"openai:text-embedding-3-small"}]
    assert len(done) == 1
    assert all(models_of(d) == {LOCAL} for d in processed if d not in done)

    out, _ = reembed("--no-progress")

    assert "re-embedded 2 documents" in out
    assert all(models_of(d) == {"openai:text-embedding-3-small"} for d in processed)


def test_another_model_than_the_configured_one_keeps_search_working_until_the_switch(
    user, processed, openai_settings, embedding_server
):
    reembed("--no-progress")
    out, _ = reembed("--model", "text-embedding-3-large", "--no-progress")

    assert "is not the configured model" in out
    for document in processed:
        assert models_of(document) == {"openai:text-embedding-3-small", "openai:text-embedding-3-large"}
    assert document_search(owner=user, query="stools", k=5).model == "openai:text-embedding-3-small"

    openai_settings.EMBEDDING_MODEL = "text-embedding-3-large"
    out, _ = reembed("--prune", "--no-progress")

    assert "re-embedded 0 documents" in out
    assert "pruned 3 vectors of other models" in out
    assert all(models_of(d) == {"openai:text-embedding-3-large"} for d in processed)


def test_prune_removes_vectors_of_deleted_documents(processed, local_embedder):
    ghost = baker.make(Document, owner=processed[0].owner)
    DocumentVector.objects.create(
        document_id=ghost.pk + 10_000,
        owner_id=ghost.owner_id,
        chunk_index=0,
        chunk_text="left behind",
        embedding=local_embedder.embed_query("left behind"),
        embedding_model=LOCAL,
    )
    out, _ = reembed("--prune", "--no-progress")
    assert "0 vectors of other models and 1 of deleted documents" in out
    assert DocumentVector.objects.count() == 3


def test_reextract_reads_the_files_again_with_new_chunk_settings(user, processed, settings):
    long_text = " ".join(f"Sentence {i} about the stock of teak bowls in aisle {i}." for i in range(40))
    document = stored_document(user, "long.txt", long_text.encode(), "text/plain")
    document_process(document_id=document.pk)
    before = DocumentVector.objects.filter(document_id=document.pk).count()
    settings.DOCUMENT_CHUNK_SIZE, settings.DOCUMENT_CHUNK_OVERLAP = 200, 20

    out, _ = reembed("--reextract", "--document", str(document.pk), "--no-progress")

    assert "processed 1 documents: 1 complete" in out
    assert DocumentVector.objects.filter(document_id=document.pk).count() > before


def test_one_document_and_forced(processed, local_embedder):
    first = processed[0]
    ids = set(DocumentVector.objects.filter(document_id=first.pk).values_list("id", flat=True))
    out, _ = reembed("--document", str(first.pk), "--force", "--no-progress")
    assert re.search(r"re-embedded 1 documents \(1 chunks, [0-9.]+ chunks/s\) with all-MiniLM-L6-v2-onnx-int8", out)
    assert ids.isdisjoint(DocumentVector.objects.filter(document_id=first.pk).values_list("id", flat=True))


def test_the_local_provider_has_no_other_model(db):
    with pytest.raises(CommandError, match="the local provider has one model"):
        reembed("--model", "text-embedding-3-large")


def test_queue_sends_one_task_per_document_to_the_workers(processed, openai_settings, embedding_server):
    # No broker in the tests' settings: Celery runs each task eagerly, through the same task code a worker runs.
    out, _ = reembed("--queue")

    assert "queued 3 documents for re-embedding with openai:text-embedding-3-small on the workers" in out
    for document in processed:
        assert models_of(document) == {"openai:text-embedding-3-small"}
    out, _ = reembed("--queue")
    assert "queued 0 documents" in out
