import pytest

from documents.embedders import get_embedder
from documents.embedders.local import LocalOnnxEmbedder
from documents.models import Document
from documents.services.processing import document_process
from tests.documents.corpus import DOCUMENTS, file_bytes
from tests.documents.files import stored_document


@pytest.fixture(scope="session")
def local_embedder() -> LocalOnnxEmbedder:
    """The offline default model, loaded once for the whole session (get_embedder caches it per process)."""
    embedder = get_embedder()
    assert isinstance(embedder, LocalOnnxEmbedder), "tests expect EMBEDDING_PROVIDER=local (the default)"
    embedder.load()
    return embedder


@pytest.fixture
def embedding_server():
    from tests.documents.embedding_server import EmbeddingServer

    server = EmbeddingServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def corpus(user, local_embedder) -> dict[str, Document]:
    """The realistic corpus of tests/documents/corpus.py, stored and processed for `user`."""
    documents = {}
    for key, (name, content_type, paragraphs) in DOCUMENTS.items():
        document = stored_document(user, name, file_bytes(content_type, paragraphs), content_type, title=name)
        assert document_process(document_id=document.pk).status == "complete", key
        documents[key] = document
    return documents
