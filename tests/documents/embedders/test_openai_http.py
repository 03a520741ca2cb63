"""The OpenAI-compatible provider against a real HTTP server on 127.0.0.1: batching, order, retries, errors."""

import logging
import socket
import time

import numpy as np
import pytest

from documents.embedders.base import EmbedderError, EmbedderUnavailable
from documents.embedders.openai_http import OpenAIEmbedder
from tests.documents.embedding_server import Scripted, text_vector

API_KEY = "sk-test-secret-key-never-logged"


def make(server, **overrides) -> OpenAIEmbedder:
    options = {
        "base_url": server.base_url,
        "model": "text-embedding-3-small",
        "api_key": API_KEY,
        "dimensions": 384,
        "batch_size": 4,
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
        "retries": 3,
        "backoff": 0.01,
    }
    return OpenAIEmbedder(**{**options, **overrides})


def test_vectors_come_back_in_input_order_normalised_in_batches(embedding_server):
    texts = [f"woven basket number {i}" for i in range(10)]
    vectors = make(embedding_server).embed_documents(texts)
    assert vectors.shape == (10, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for text, vector in zip(texts, vectors, strict=True):
        expected = np.array(text_vector(text, 384), dtype=np.float32)
        assert float(vector @ (expected / np.linalg.norm(expected))) == pytest.approx(1.0, abs=1e-5)
    sent = [request["json"] for request in embedding_server.requests]
    assert [len(body["input"]) for body in sent] == [4, 4, 2]
    assert all(body["model"] == "text-embedding-3-small" and body["dimensions"] == 384 for body in sent)
    assert all(request["path"] == "/v1/embeddings" for request in embedding_server.requests)
    assert embedding_server.requests[0]["headers"]["Authorization"] == f"Bearer {API_KEY}"


def test_model_name_names_the_provider(embedding_server):
    embedder = make(embedding_server)
    assert embedder.model_name == "openai:text-embedding-3-small"
    assert API_KEY not in repr(embedder)


def test_query_and_no_texts(embedding_server):
    embedder = make(embedding_server)
    assert embedder.embed_query("teak bowls").shape == (384,)
    assert embedder.embed_documents([]).shape == (0, 384)
    assert len(embedding_server.requests) == 1


def test_dimensions_field_can_be_left_out(embedding_server):
    make(embedding_server, send_dimensions=False).embed_documents(["a"])
    assert "dimensions" not in embedding_server.requests[0]["json"]


def test_no_key_no_authorization_header(embedding_server):
    make(embedding_server, api_key=None).embed_documents(["a"])
    assert "Authorization" not in embedding_server.requests[0]["headers"]


def test_429_then_200_is_retried_after_the_servers_retry_after(embedding_server, caplog):
    embedding_server.script = [Scripted(429, {"error": {"message": "Rate limit reached"}}, {"Retry-After": "0.3"})]
    start = time.monotonic()
    with caplog.at_level(logging.DEBUG):
        vectors = make(embedding_server).embed_documents(["beaded stool", "teak bowl"])
    assert time.monotonic() - start >= 0.3
    assert vectors.shape == (2, 384)
    assert len(embedding_server.requests) == 2
    assert "429" in caplog.text
    assert "Rate limit reached" in caplog.text
    assert API_KEY not in caplog.text


def test_5xx_until_the_budget_is_spent(embedding_server, caplog):
    embedding_server.script = [Scripted(500, {"error": {"message": "upstream overloaded"}})] * 10
    with caplog.at_level(logging.DEBUG), pytest.raises(EmbedderUnavailable) as caught:
        make(embedding_server, retries=2).embed_documents(["a"])
    assert len(embedding_server.requests) == 3  # one try and two retries
    assert "after 3 attempts" in str(caught.value)
    assert "500: upstream overloaded" in str(caught.value)
    assert API_KEY not in caplog.text + str(caught.value)


def test_a_5xx_then_success(embedding_server):
    embedding_server.script = [Scripted(502, b"<html>Bad gateway</html>"), Scripted(503, {})]
    assert make(embedding_server).embed_documents(["a"]).shape == (1, 384)
    assert len(embedding_server.requests) == 3


def test_client_errors_are_not_retried(embedding_server):
    embedding_server.script = [Scripted(401, {"error": {"message": "Incorrect API key provided"}})]
    with pytest.raises(EmbedderError, match="refused the request with 401: Incorrect API key provided") as caught:
        make(embedding_server).embed_documents(["a"])
    assert not isinstance(caught.value, EmbedderUnavailable)
    assert len(embedding_server.requests) == 1
    assert API_KEY not in str(caught.value)


def test_read_timeout_is_retried_then_gives_up(embedding_server):
    embedding_server.script = [Scripted(delay=1.0)] * 3
    start = time.monotonic()
    with pytest.raises(EmbedderUnavailable, match=r"no answer .* within 0\.3 s"):
        make(embedding_server, read_timeout=0.3, retries=1).embed_documents(["a"])
    assert len(embedding_server.requests) == 2
    assert time.monotonic() - start < 3


def test_nothing_listening_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    embedder = OpenAIEmbedder(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key=API_KEY, dimensions=384, retries=1, backoff=0.01
    )
    with pytest.raises(EmbedderUnavailable, match="cannot connect"):
        embedder.embed_documents(["a"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not an embeddings list"),
        ({"data": [{"index": 0}]}, "not an embeddings list"),
        ({"data": []}, "sent 0 vectors for 1 texts"),
        ({"data": [{"index": 0, "embedding": [0.0] * 384}]}, "zero or non-finite"),
        ({"data": [{"index": 0, "embedding": [1.0] * 1536}]}, "1536-dimension vectors; document_vectors holds 384"),
    ],
)
def test_malformed_replies_are_clear_errors(embedding_server, body, message):
    embedding_server.script = [Scripted(200, body)]
    with pytest.raises(EmbedderError, match=message):
        make(embedding_server).embed_documents(["a"])
