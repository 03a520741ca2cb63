import pytest

from documents.embedders import EmbedderError, get_embedder
from documents.embedders.local import LocalOnnxEmbedder
from documents.embedders.openai_http import OpenAIEmbedder


def test_local_is_the_default_and_is_built_once(settings):
    assert settings.EMBEDDING_PROVIDER == "local"
    assert isinstance(get_embedder(), LocalOnnxEmbedder)
    assert get_embedder() is get_embedder()
    assert get_embedder("all-MiniLM-L6-v2-onnx-int8") is get_embedder()


def test_local_has_one_model(settings):
    with pytest.raises(EmbedderError, match="the local provider has one model"):
        get_embedder("text-embedding-3-large")


def test_openai_provider_from_settings(settings):
    settings.EMBEDDING_PROVIDER = "openai"
    settings.EMBEDDING_API_BASE = "http://127.0.0.1:9/v1"
    settings.EMBEDDING_MODEL = "text-embedding-3-small"
    settings.EMBEDDING_API_KEY = "sk-test"
    embedder = get_embedder()
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.url == "http://127.0.0.1:9/v1/embeddings"
    assert embedder.model_name == "openai:text-embedding-3-small"
    assert embedder.dimensions == 384
    other = get_embedder("openai:text-embedding-3-large")
    assert other.model_name == "openai:text-embedding-3-large"
    assert other is not embedder
    settings.EMBEDDING_API_READ_TIMEOUT = 1.5
    assert get_embedder() is not embedder  # a changed setting builds a new one
