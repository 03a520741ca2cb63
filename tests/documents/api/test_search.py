"""GET /api/documents/search over HTTP: validation, per-user results grouped by document, errors."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from documents.models import DocumentVector
from tests.documents.embedding_server import Scripted

pytestmark = pytest.mark.django_db

URL = "/api/documents/search"


def test_needs_authentication(db):
    response = APIClient().get(URL, {"q": "stools"})
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "q", "This field is required."),
        ({"q": ""}, "q", "This field may not be blank."),
        ({"q": "   \t "}, "q", "This field may not be blank."),
        ({"q": "x" * 501}, "q", "Ensure this field has no more than 500 characters."),
        ({"q": "bad\x00query"}, "q", "Null characters are not allowed."),
        ({"q": "stools", "k": "0"}, "k", "Ensure this value is greater than or equal to 1."),
        ({"q": "stools", "k": "51"}, "k", "Ensure this value is less than or equal to 50."),
        ({"q": "stools", "k": "ten"}, "k", "A valid integer is required."),
        ({"q": "stools", "mode": "fuzzy"}, "mode", '"fuzzy" is not a valid choice.'),
    ],
)
def test_bad_parameters_are_400_field_errors(api, params, field, message):
    response = api.get(URL, params)
    assert response.status_code == 400
    assert response.json()[field] == [message]


def test_results_grouped_per_document_best_first(api, corpus):
    response = api.get(URL, {"q": "what does a big stool cost when we buy in bulk", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "what does a big stool cost when we buy in bulk"
    assert body["mode"] == "semantic"
    assert body["model"] == "all-MiniLM-L6-v2-onnx-int8"
    results = body["results"]
    assert len(results) == 3
    best = results[0]
    assert best["document_id"] == corpus["stool_price_list"].pk
    assert best["title"] == "beaded-stools-price-list-2025.docx"
    assert "Large stool (60 cm): 80.00" in best["snippet"]
    assert best["url"] == f"http://testserver/api/documents/{best['document_id']}/"
    assert set(best) == {
        "document_id",
        "title",
        "category",
        "content_type",
        "score",
        "similarity",
        "snippet",
        "chunk_index",
        "matching_chunks",
        "page",
        "heading",
        "url",
    }
    assert body["score_kind"] == "cosine_similarity"
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert len({r["document_id"] for r in results}) == 3


def test_k_defaults_to_ten_and_hybrid_is_available(api, corpus):
    assert len(api.get(URL, {"q": "documents"}).json()["results"]) == 10
    body = api.get(URL, {"q": "aisle C humidity monitor", "mode": "hybrid", "k": 1}).json()
    assert body["mode"] == "hybrid"
    assert body["results"][0]["document_id"] == corpus["stock_count"].pk


def test_another_user_finds_nothing_of_mine(other_api, corpus):
    response = other_api.get(URL, {"q": "beaded stools price"})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    "query",
    ["../../etc/passwd", "'; DROP TABLE document_vectors; --", "🧺 körbe aus Sisal \u2013 编织篮", "%s %(owner)s {0}"],
)
def test_hostile_queries_are_just_text(api, corpus, query):
    response = api.get(URL, {"q": query, "k": 2})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2
    assert DocumentVector.objects.count() >= len(corpus)
    assert "document_vectors" in connection.introspection.table_names()


def test_embedding_service_down_is_503_with_retry_after(api, user, settings, embedding_server):
    settings.EMBEDDING_PROVIDER = "openai"
    settings.EMBEDDING_API_BASE = embedding_server.base_url
    settings.EMBEDDING_API_KEY = "sk-test-secret"
    settings.EMBEDDING_API_RETRIES = 1
    settings.EMBEDDING_API_BACKOFF = 0.01
    embedding_server.script = [Scripted(500, {"error": {"message": "down"}})] * 2
    response = api.get(URL, {"q": "stools"})
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "could not be embedded" in response.json()["detail"]
    assert "sk-test-secret" not in response.content.decode()


def test_search_through_the_openai_provider(api, user, settings, embedding_server):
    settings.EMBEDDING_PROVIDER = "openai"
    settings.EMBEDDING_API_BASE = embedding_server.base_url
    settings.EMBEDDING_MODEL = "text-embedding-3-small"
    response = api.get(URL, {"q": "stools"})
    assert response.status_code == 200
    assert response.json()["model"] == "openai:text-embedding-3-small"
    assert embedding_server.requests[0]["json"]["input"] == ["stools"]
