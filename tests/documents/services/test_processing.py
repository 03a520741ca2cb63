"""document_process: a stored file becomes indexed chunks, or a clear error; the file itself is never touched."""

import hashlib
import os

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from documents.embedders import Embedder, EmbedderError, EmbedderUnavailable
from documents.embedders.openai_http import OpenAIEmbedder
from documents.extraction import DOCX, MARKDOWN, PDF, PLAIN
from documents.models import Document, DocumentVector, ProcessingStatus
from documents.services.processing import document_process
from tests.documents.embedding_server import Scripted
from tests.documents.files import docx_bytes, encrypted_pdf_bytes, pdf_bytes, stored_document

pytestmark = pytest.mark.django_db

CONTRACT = (
    "Supply agreement between Instantory Ltd and Kanju Crafts. Kanju Crafts delivers two hundred beaded stools "
    "each quarter. Payment is due thirty days after delivery. Late deliveries are discounted by five percent per week."
)
CARE = "Care of woven baskets: dust with a soft dry brush, keep away from direct sunlight, never soak in water."


class HookedEmbedder(Embedder):
    """The real model, with a hook run after embedding: something happening while the vectors are computed."""

    def __init__(self, inner: Embedder, after) -> None:
        self.inner, self.after = inner, after
        self.model_name, self.dimensions = inner.model_name, inner.dimensions

    def embed_documents(self, texts):
        vectors = self.inner.embed_documents(texts)
        self.after()
        return vectors


def file_state(document: Document) -> tuple[str, float]:
    path = default_storage.path(document.file.name)
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest(), os.stat(path).st_mtime_ns


def vectors_of(document: Document):
    return DocumentVector.objects.filter(document_id=document.pk).order_by("chunk_index")


def test_a_pdf_is_extracted_chunked_and_embedded(user, local_embedder, settings):
    settings.DOCUMENT_CHUNK_SIZE, settings.DOCUMENT_CHUNK_OVERLAP = 200, 40
    document = stored_document(user, "contract.pdf", pdf_bytes([CONTRACT, CARE]), PDF)
    before = file_state(document)

    result = document_process(document_id=document.pk)

    document.refresh_from_db()
    assert result.status == "complete"
    assert document.processing_status == ProcessingStatus.COMPLETE
    assert document.processing_error == ""
    assert document.page_count == 2
    vectors = list(vectors_of(document))
    assert len(vectors) == result.chunks >= 2
    assert [v.chunk_index for v in vectors] == list(range(len(vectors)))
    assert {v.owner_id for v in vectors} == {user.pk}
    assert {v.embedding_model for v in vectors} == {"all-MiniLM-L6-v2-onnx-int8"}
    assert all(len(v.chunk_text) <= 200 for v in vectors)
    assert "two hundred beaded stools" in " ".join(v.chunk_text for v in vectors)
    stored = np.array(vectors[0].embedding)
    assert np.allclose(stored, local_embedder.embed_documents([vectors[0].chunk_text])[0], atol=1e-5)
    assert file_state(document) == before


@pytest.mark.parametrize(
    ("name", "data", "content_type", "expected"),
    [
        ("terms.docx", docx_bytes([CONTRACT], table=[["Item", "Price"], ["Stool", "45"]]), DOCX, "Stool | 45"),
        ("care.txt", CARE.encode(), PLAIN, "soft dry brush"),
        ("care.md", f"# Basket care\n\n**{CARE}**".encode(), MARKDOWN, "Basket care"),
    ],
)
def test_docx_text_and_markdown(user, local_embedder, name, data, content_type, expected):
    document = stored_document(user, name, data, content_type)
    assert document_process(document_id=document.pk).status == "complete"
    document.refresh_from_db()
    assert document.processing_status == "complete"
    assert document.page_count is None
    assert expected in " ".join(vectors_of(document).values_list("chunk_text", flat=True))


def test_running_again_replaces_the_chunks_and_never_duplicates(user, local_embedder):
    document = stored_document(user, "care.txt", (CARE + " ") * 20, PLAIN)
    document_process(document_id=document.pk)
    first = list(vectors_of(document).values_list("chunk_index", "chunk_text"))
    first_ids = set(vectors_of(document).values_list("id", flat=True))

    document_process(document_id=document.pk)

    assert list(vectors_of(document).values_list("chunk_index", "chunk_text")) == first
    assert first_ids.isdisjoint(vectors_of(document).values_list("id", flat=True))


def test_a_new_file_replaces_every_old_chunk(user, local_embedder):
    document = stored_document(user, "notes.txt", CONTRACT.encode(), PLAIN)
    document_process(document_id=document.pk)
    document.file.name = default_storage.save(f"documents/{user.pk}/new.txt", ContentFile(CARE.encode()))
    document.save()

    document_process(document_id=document.pk)

    texts = " ".join(vectors_of(document).values_list("chunk_text", flat=True))
    assert "woven baskets" in texts
    assert "beaded stools" not in texts


def test_vectors_of_other_documents_are_left_alone(user, other_user, local_embedder):
    mine = stored_document(user, "a.txt", CONTRACT.encode(), PLAIN)
    theirs = stored_document(other_user, "b.txt", CARE.encode(), PLAIN)
    document_process(document_id=theirs.pk)
    count = vectors_of(theirs).count()
    document_process(document_id=mine.pk)
    document_process(document_id=mine.pk)
    assert vectors_of(theirs).count() == count


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b"", PDF, "The file is empty."),
        (pdf_bytes([CONTRACT])[:300], PDF, "The PDF is damaged or incomplete"),
        (encrypted_pdf_bytes(CONTRACT, user_password="s3cret"), PDF, "The PDF is protected by a password"),
        (docx_bytes([CONTRACT])[:500], DOCX, "The DOCX file is damaged or incomplete"),
        (b"   \n  ", PLAIN, "No text was found in the file."),
    ],
)
def test_a_file_without_usable_text_is_an_error_and_stays_stored(user, data, content_type, message):
    document = stored_document(user, "upload.bin", data, content_type)
    before = file_state(document)

    result = document_process(document_id=document.pk)

    document.refresh_from_db()
    assert result.status == "error"
    assert document.processing_status == ProcessingStatus.ERROR
    assert document.processing_error.startswith(message)
    assert file_state(document) == before
    assert default_storage.exists(document.file.name)
    assert Document.objects.filter(pk=document.pk, owner=user).exists()  # still listed
    assert not vectors_of(document).exists()


def test_a_broken_replacement_file_removes_the_old_files_chunks(user, local_embedder):
    document = stored_document(user, "notes.txt", CONTRACT.encode(), PLAIN)
    document_process(document_id=document.pk)
    assert vectors_of(document).exists()
    document.file.name = default_storage.save(f"documents/{user.pk}/broken.pdf", ContentFile(b"%PDF-1.4 cut"))
    document.content_type = PDF
    document.save()

    document_process(document_id=document.pk)

    document.refresh_from_db()
    assert document.processing_status == "error"
    assert not vectors_of(document).exists()


def test_a_file_missing_from_storage(user):
    document = stored_document(user, "gone.txt", CONTRACT.encode(), PLAIN)
    default_storage.delete(document.file.name)
    assert document_process(document_id=document.pk).status == "error"
    document.refresh_from_db()
    assert document.processing_error == "The stored file is missing from storage."


def test_a_document_without_a_file_yet(user):
    document = Document.objects.create(owner=user, title="pending upload")
    assert document_process(document_id=document.pk).status == "error"
    document.refresh_from_db()
    assert document.processing_error == "The document has no stored file yet."


def test_an_unknown_document_is_nothing_to_do():
    assert document_process(document_id=987654321).status == "missing"


def test_text_beyond_the_limit_is_not_indexed(user, local_embedder, settings):
    settings.DOCUMENT_MAX_TEXT_CHARS = 1000
    body = ("Beaded stools. " * 70) + "UNIQUE-TAIL-MARKER"
    document = stored_document(user, "long.txt", body.encode(), PLAIN)
    document_process(document_id=document.pk)
    texts = " ".join(vectors_of(document).values_list("chunk_text", flat=True))
    assert "UNIQUE-TAIL-MARKER" not in texts
    assert "Beaded stools" in texts


def http_embedder(server, retries=1) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        base_url=server.base_url, model="m", api_key="k", dimensions=384, retries=retries, backoff=0.01
    )


def test_an_unavailable_embedder_marks_the_error_keeps_the_old_vectors_and_raises_for_a_retry(
    user, local_embedder, embedding_server
):
    document = stored_document(user, "care.txt", CARE.encode(), PLAIN)
    document_process(document_id=document.pk)
    old = list(vectors_of(document).values_list("id", flat=True))
    embedding_server.script = [Scripted(503, {"error": {"message": "overloaded"}})] * 2

    with pytest.raises(EmbedderUnavailable):
        document_process(document_id=document.pk, embedder=http_embedder(embedding_server))

    document.refresh_from_db()
    assert document.processing_status == "error"
    assert "processing will be retried" in document.processing_error
    assert list(vectors_of(document).values_list("id", flat=True)) == old


def test_a_refusing_embedder_is_a_final_error(user, embedding_server):
    document = stored_document(user, "care.txt", CARE.encode(), PLAIN)
    embedding_server.script = [Scripted(401, {"error": {"message": "Incorrect API key"}})]
    result = document_process(document_id=document.pk, embedder=http_embedder(embedding_server))
    document.refresh_from_db()
    assert result.status == "error"
    assert document.processing_error.startswith("Embedding failed:")
    assert "Incorrect API key" in document.processing_error


def test_a_document_deleted_while_embedding_gets_no_vectors(user, local_embedder):
    document = stored_document(user, "care.txt", CARE.encode(), PLAIN)
    embedder = HookedEmbedder(local_embedder, after=lambda: Document.objects.filter(pk=document.pk).delete())
    assert document_process(document_id=document.pk, embedder=embedder).status == "missing"
    assert not vectors_of(document).exists()


def test_a_file_replaced_while_embedding_leaves_the_work_to_the_newer_run(user, local_embedder):
    document = stored_document(user, "care.txt", CARE.encode(), PLAIN)

    def replace_file():
        Document.objects.filter(pk=document.pk).update(file=f"documents/{user.pk}/newer.txt")

    result = document_process(document_id=document.pk, embedder=HookedEmbedder(local_embedder, replace_file))
    assert result.status == "superseded"
    assert not vectors_of(document).exists()


def test_embedder_errors_are_the_embedders_family():
    assert issubclass(EmbedderUnavailable, EmbedderError)


def test_chunks_record_the_pdf_page_or_the_heading_they_are_in(user, local_embedder, settings):
    settings.DOCUMENT_CHUNK_SIZE, settings.DOCUMENT_CHUNK_OVERLAP = 200, 40
    pdf = stored_document(user, "contract.pdf", pdf_bytes([CONTRACT, f"{CARE} {CARE}"]), PDF)
    markdown = stored_document(user, "notes.md", f"{CONTRACT}\n\n# Basket care\n\n{CARE}".encode(), MARKDOWN)

    assert document_process(document_id=pdf.pk).status == "complete"
    assert document_process(document_id=markdown.pk).status == "complete"

    pages = {v.page for v in vectors_of(pdf)}
    assert pages == {1, 2}
    assert vectors_of(pdf).first().page == 1
    assert vectors_of(pdf).last().page == 2
    assert vectors_of(pdf).last().heading == ""
    assert [v.heading for v in vectors_of(markdown)][-1] == "Basket care"
    assert all(v.page is None for v in vectors_of(markdown))
