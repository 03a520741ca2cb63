import pytest

from documents.embedders import get_embedder
from documents.embedders.local import LocalOnnxEmbedder


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
