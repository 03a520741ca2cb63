"""Semantic search over a user's processed documents: ranking, scoping, grouping, models and index scans."""

import numpy as np
import pytest
from django.db import connection
from model_bakery import baker

from documents.models import Document, DocumentVector
from documents.selectors import search as search_module
from documents.selectors.search import document_search, snippet
from documents.services.processing import document_process
from tests.documents.corpus import DOCUMENTS, QUERIES, file_bytes
from tests.documents.files import pdf_bytes, stored_document

pytestmark = pytest.mark.django_db


def test_the_relevant_document_ranks_first_for_paraphrased_questions(user, corpus):
    misses = []
    for question, expected in QUERIES:
        results = document_search(owner=user, query=question, k=3).results
        if results[0].document.pk != corpus[expected].pk:
            misses.append(f"{question!r}: got {[hit.document.title for hit in results]}, expected {expected}")
    assert not misses, "\n".join(misses)


def test_results_are_grouped_per_document_with_score_and_snippet(user, corpus):
    results = document_search(owner=user, query="beaded stools", k=5)
    ids = [hit.document.pk for hit in results.results]
    assert len(ids) == len(set(ids)) == 5
    scores = [hit.score for hit in results.results]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= hit.similarity <= 1.0 and hit.score == hit.similarity for hit in results.results)
    assert all(hit.snippet for hit in results.results)
    assert results.model == "all-MiniLM-L6-v2-onnx-int8"
    assert results.mode == "semantic"
    assert results.score_kind == "cosine_similarity"


def test_hits_name_the_pdf_page_and_the_markdown_heading_of_their_passage(user, local_embedder):
    pages = ["Warehouse opening hours are eight to six.", "Invoices are payable within thirty days of delivery."]
    pdf = stored_document(user, "terms.pdf", pdf_bytes(pages), "application/pdf")
    notes = "Intro.\n\n# Sea freight\n\nContainers leave Mombasa for Rotterdam every week."
    markdown = stored_document(user, "notes.md", notes.encode(), "text/markdown")
    for document in (pdf, markdown):
        assert document_process(document_id=document.pk).status == "complete"
    invoices = document_search(owner=user, query="when must invoices be paid", k=1).results[0]
    assert (invoices.document.pk, invoices.page, invoices.heading) == (pdf.pk, 2, "")
    freight = document_search(owner=user, query="weekly container departures to Rotterdam", k=1).results[0]
    assert (freight.document.pk, freight.page, freight.heading) == (markdown.pk, None, "Sea freight")


def test_hybrid_mode_fuses_exact_word_matches_into_the_ranking(user, corpus):
    query = "aisle C humidity monitor"  # words of the stock count report, whose meaning is close to basket care
    semantic = document_search(owner=user, query=query, k=3, mode="semantic").results
    hybrid = document_search(owner=user, query=query, k=3, mode="hybrid")
    assert semantic[0].document.pk == corpus["basket_care"].pk
    assert hybrid.results[0].document.pk == corpus["stock_count"].pk
    assert hybrid.mode == "hybrid"
    assert hybrid.score_kind == "rank_fusion"
    assert all(0.0 < hit.score <= 1.0 for hit in hybrid.results)
    assert document_search(owner=user, query="INV-2024-0193", k=1, mode="hybrid").results[0].document.pk == (
        corpus["shipping_invoice"].pk
    )
    for question, expected in QUERIES[:5]:
        assert document_search(owner=user, query=question, k=1, mode="hybrid").results[0].document.pk == (
            corpus[expected].pk
        )


def test_only_the_owners_documents_are_searched(user, other_user, corpus):
    name, content_type, paragraphs = DOCUMENTS["basket_care"]
    theirs = stored_document(other_user, name, file_bytes(content_type, paragraphs), content_type)
    document_process(document_id=theirs.pk)
    mine = document_search(owner=user, query="how do I clean a woven basket", k=50).results
    assert theirs.pk not in {hit.document.pk for hit in mine}
    assert len(mine) == len(DOCUMENTS)  # every document of mine, and only mine
    theirs_results = document_search(owner=other_user, query="how do I clean a woven basket", k=50).results
    assert [hit.document.pk for hit in theirs_results] == [theirs.pk]


def test_vectors_of_another_model_are_never_compared(user, corpus):
    rogue = baker.make(Document, owner=user, title="embedded with another model")
    DocumentVector.objects.create(
        document_id=rogue.pk,
        owner_id=user.pk,
        chunk_index=0,
        chunk_text="woven basket care",
        # The query's own vector, under another model name: it would be a perfect match if compared.
        embedding=search_module.get_embedder().embed_query("woven basket care"),
        embedding_model="some-other-model",
    )
    results = document_search(owner=user, query="woven basket care", k=50).results
    assert rogue.pk not in {hit.document.pk for hit in results}


def test_no_documents_no_results(user, local_embedder):
    assert document_search(owner=user, query="anything at all", k=10).results == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": "   "}, "1 to 500 characters"),
        ({"query": "x" * 501}, "1 to 500 characters"),
        ({"query": "ok", "k": 0}, "between 1 and 50"),
        ({"query": "ok", "k": 51}, "between 1 and 50"),
        ({"query": "ok", "mode": "fuzzy"}, "semantic, hybrid"),
    ],
)
def test_bad_arguments(user, kwargs, message):
    with pytest.raises(ValueError, match=message):
        document_search(owner=user, **kwargs)


def random_vectors_sql(owner_sql: str, document_sql: str, chunk_sql: str, count: int, model: str) -> str:
    return f"""
        INSERT INTO document_vectors
            (document_id, owner_id, chunk_index, chunk_text, embedding, embedding_model, created_at, updated_at)
        SELECT {document_sql}, {owner_sql}, {chunk_sql}, 'chunk ' || g,
               (SELECT array_agg(random() - 0.5) FROM generate_series(1, 384) d WHERE d > -g)::vector,
               '{model}', now(), now()
        FROM generate_series(0, {count - 1}) g
    """  # noqa: S608 - test-only constants


def test_k_documents_come_back_through_the_hnsw_index_among_many_other_users_vectors(user, local_embedder, settings):
    settings.SEARCH_EXACT_MAX_VECTORS = 0  # 60 vectors would be searched exactly otherwise
    model = local_embedder.model_name
    mine = baker.make(Document, owner=user, _quantity=20)
    others = baker.make("auth.User", _quantity=3)
    with connection.cursor() as cursor:
        # Bulk load first and build the index after, as an index build is much faster than 3,000 inserts.
        cursor.execute("DROP INDEX docvec_embedding_hnsw")
        cursor.execute(
            random_vectors_sql(f"(ARRAY{[u.pk for u in others]})[1 + g % 3]", "1000000 + g / 10", "g % 10", 3000, model)
        )
        cursor.execute(
            random_vectors_sql(str(user.pk), f"(ARRAY{[d.pk for d in mine]})[1 + g / 3]", "g % 3", 60, model)
        )
        cursor.execute(
            "CREATE INDEX docvec_embedding_hnsw ON document_vectors "
            "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
        cursor.execute("ANALYZE document_vectors")
        # Leave the planner no other way than the HNSW index (reverted with the test's transaction), as it
        # chooses on big tables: the owner filter then applies to what the index scan yields.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET {setting} = off")
        vector = "[" + ",".join(["0.01"] * 384) + "]"
        params = {"vector": vector, "owner": user.pk, "model": model, "limit": 80}
        cursor.execute("EXPLAIN " + search_module._SEMANTIC_SQL, params)
        assert "docvec_embedding_hnsw" in "\n".join(row[0] for row in cursor.fetchall())
        # Without iterative scans the index yields ef_search rows, most of them other users': too few.
        cursor.execute("SAVEPOINT plain_scan")
        cursor.execute("SET LOCAL hnsw.iterative_scan = off")
        cursor.execute("SET LOCAL hnsw.ef_search = 100")
        cursor.execute(search_module._SEMANTIC_SQL, params)
        assert len(cursor.fetchall()) < 30
        cursor.execute("ROLLBACK TO SAVEPOINT plain_scan")

    results = document_search(owner=user, query="anything", k=20).results

    assert len(results) == 20
    assert {hit.document.pk for hit in results} == {d.pk for d in mine}
    assert all(hit.matching_chunks >= 1 for hit in results)


def test_an_owner_with_few_vectors_is_searched_exactly_and_one_with_more_through_the_index(
    user, other_user, local_embedder, settings
):
    model = local_embedder.model_name
    mine = baker.make(Document, owner=user, _quantity=30)
    with connection.cursor() as cursor:
        cursor.execute(random_vectors_sql(str(other_user.pk), "1000000 + g / 10", "g % 10", 500, model))
        cursor.execute(
            random_vectors_sql(str(user.pk), f"(ARRAY{[d.pk for d in mine]})[1 + g / 4]", "g % 4", 120, model)
        )
        cursor.execute("ANALYZE document_vectors")
    query = local_embedder.embed_query("anything at all")
    stored = DocumentVector.objects.filter(owner_id=user.pk).values_list("id", "embedding")
    ids, vectors = zip(*stored, strict=True)
    vectors = np.array(vectors, dtype=np.float32)
    similarity = (vectors @ query) / np.linalg.norm(vectors, axis=1)
    exact_order = [ids[i] for i in np.argsort(-similarity)[:40]]
    params = search_module.query_params(user.pk, model, query, 40)

    # 120 vectors as the planner's statistics count them (ANALYZE above), 500 of someone else's.
    for cap, expected_sql in [(150, search_module._EXACT_SQL), (90, search_module._SEMANTIC_SQL)]:
        settings.SEARCH_EXACT_MAX_VECTORS = cap
        with connection.cursor() as cursor:
            assert search_module.semantic_sql(cursor, params) == expected_sql
    settings.SEARCH_EXACT_MAX_VECTORS = 150
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + search_module._EXACT_SQL, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "docvec_embedding_hnsw" not in plan
    semantic, _ = search_module._candidates(user.pk, model, query, "", 40, hybrid=False)
    assert [chunk.id for chunk in semantic] == exact_order  # every distance, in order: recall 1.0
    assert {hit.document.pk for hit in document_search(owner=user, query="anything at all", k=30).results} == {
        d.pk for d in mine
    }


def test_snippet_starts_at_the_sentence_that_shares_the_querys_words(settings):
    text = "Opening words about nothing. " * 10 + "The large beaded stool costs eighty dollars. " + "Filler. " * 30
    piece = snippet(text, "price of a large beaded stool", limit=80)
    assert piece.startswith("… The large beaded stool costs eighty dollars.")
    assert piece.endswith(" …")
    assert len(piece) <= 84
    assert snippet("Short text.", "anything") == "Short text."


def test_query_vectors_are_unit_length(local_embedder):
    assert np.linalg.norm(local_embedder.embed_query("teak bowls")) == pytest.approx(1.0, abs=1e-5)
