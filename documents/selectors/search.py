"""Semantic search over one user's documents: nearest chunks by cosine distance, grouped per document.

An owner with few vectors (SEARCH_EXACT_MAX_VECTORS) is searched exactly: their rows through the
owner index, every distance computed and sorted, which is both exact and faster than walking a graph
of everybody's vectors for the few that are theirs. Otherwise the owner and the embedding model are
filtered inside the HNSW index scan, and pgvector (≥ 0.8) keeps scanning the index until enough rows
pass the filter (`hnsw.iterative_scan`), so k documents come back whenever the user has k, however
many other users' vectors surround them. Hybrid mode fuses that ranking with PostgreSQL full-text search
(reciprocal rank fusion), which helps queries with exact words: SKUs, names, invoice numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connections, transaction

from documents.embedders import Embedder, get_embedder
from documents.models import Document
from documents.routers import vector_db_alias
from documents.services.owner_indexes import owner_index_exists

MODES = ("semantic", "hybrid")
QUERY_MAX_LENGTH = 500
K_MAX = 50
# Candidate chunks fetched per wanted document at first; multiplied while too few documents come back.
CANDIDATES_PER_DOCUMENT = 4
CANDIDATES_GROWTH = 4
CANDIDATES_MAX = 5000
# Iterative index scans stop after this many tuples; high enough for a user with a few documents
# among millions of vectors, bounded so one search cannot read the whole index.
MAX_SCAN_TUPLES = 200_000
RRF_K = 60  # the usual constant of reciprocal rank fusion
# What `score` is in each mode (the API says it with every answer): one score, one meaning per mode.
SCORE_KINDS = {"semantic": "cosine_similarity", "hybrid": "rank_fusion"}
# Hybrid scores are divided by this, the fused score of a chunk ranked first by both searches: 1.0 is best.
RRF_BEST = 2.0 / (RRF_K + 1)
# The expression of the docvec_chunk_fts index: a query must spell it the same way to use it.
TSVECTOR = "to_tsvector('english'::regconfig, COALESCE(chunk_text, ''))"

_SEMANTIC_SQL = """
WITH nearest AS MATERIALIZED (
    SELECT id, document_id, chunk_index, chunk_text, page, heading, embedding <=> %(vector)s::vector AS distance
    FROM document_vectors
    WHERE owner_id = %(owner)s AND embedding_model = %(model)s
    ORDER BY embedding <=> %(vector)s::vector
    LIMIT %(limit)s
)
SELECT id, document_id, chunk_index, chunk_text, page, heading, distance FROM nearest ORDER BY distance, id
"""

# "+ 0" makes the sort key an expression the HNSW index cannot produce in order, so the planner reads
# the owner's rows through docvec_owner_model_idx and sorts them: exact, whatever the statistics say.
_EXACT_SQL = """
SELECT id, document_id, chunk_index, chunk_text, page, heading, embedding <=> %(vector)s::vector AS distance
FROM document_vectors
WHERE owner_id = %(owner)s AND embedding_model = %(model)s
ORDER BY (embedding <=> %(vector)s::vector) + 0, id
LIMIT %(limit)s
"""

# The planner's estimate of the owner's vectors, from the table's statistics (the most common owners
# are counted there): a plan, no rows read. Counting for real costs a scan of up to the threshold.
_ESTIMATE_SQL = """
EXPLAIN (FORMAT JSON) SELECT 1 FROM document_vectors WHERE owner_id = %(owner)s AND embedding_model = %(model)s
"""

_FULLTEXT_SQL = f"""
SELECT id, document_id, chunk_index, chunk_text, page, heading, embedding <=> %(vector)s::vector AS distance
FROM document_vectors, websearch_to_tsquery('english', %(text)s) AS query
WHERE owner_id = %(owner)s AND embedding_model = %(model)s AND {TSVECTOR} @@ query
ORDER BY ts_rank_cd({TSVECTOR}, query) DESC, id
LIMIT %(limit)s
"""  # noqa: S608 - TSVECTOR is a constant; every value is a bound parameter


@dataclass(frozen=True)
class Chunk:
    id: int
    document_id: int
    chunk_index: int
    text: str
    page: int | None
    heading: str
    distance: float


@dataclass
class DocumentHit:
    document: Document
    score: float
    similarity: float
    snippet: str
    chunk_index: int
    matching_chunks: int = 1
    page: int | None = None
    heading: str = ""


@dataclass
class SearchResults:
    query: str
    mode: str
    model: str
    results: list[DocumentHit] = field(default_factory=list)

    @property
    def score_kind(self) -> str:
        return SCORE_KINDS[self.mode]


def document_search(
    *, owner, query: str, k: int = 10, mode: str | None = None, embedder: Embedder | None = None
) -> SearchResults:
    """The owner's k best-matching documents for `query`, best first, each with its best chunk.

    Only vectors of the current embedder's model are compared, so a half-finished re-embedding
    never mixes two vector spaces. Raises EmbedderError / EmbedderUnavailable when the query
    cannot be embedded.
    """
    query = " ".join(query.split())
    if not query or len(query) > QUERY_MAX_LENGTH:
        raise ValueError(f"the query must have 1 to {QUERY_MAX_LENGTH} characters")
    if not 1 <= k <= K_MAX:
        raise ValueError(f"k must be between 1 and {K_MAX}")
    mode = mode or settings.SEARCH_DEFAULT_MODE
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    embedder = embedder or get_embedder()
    vector = embedder.embed_query(query)
    results = SearchResults(query=query, mode=mode, model=embedder.model_name)

    limit = max(k * CANDIDATES_PER_DOCUMENT, 20)
    while True:
        semantic, fulltext = _candidates(owner.pk, embedder.model_name, vector, query, limit, hybrid=mode == "hybrid")
        ranked = _rank(semantic, fulltext, fused=mode == "hybrid")
        documents = Document.objects.filter(owner=owner, pk__in={c.document_id for c, _ in ranked}).in_bulk()
        hits = _group(ranked, documents, query)
        exhausted = len(semantic) < limit and len(fulltext) < limit
        if len(hits) >= k or exhausted or limit >= CANDIDATES_MAX:
            results.results = hits[:k]
            return results
        limit = min(limit * CANDIDATES_GROWTH, CANDIDATES_MAX)


def _candidates(
    owner_id: int, model: str, vector: np.ndarray, text: str, limit: int, *, hybrid: bool
) -> tuple[list[Chunk], list[Chunk]]:
    alias = vector_db_alias()
    params = query_params(owner_id, model, vector, limit, text=text)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute(semantic_sql(cursor, params), params)
        semantic = [Chunk(*row) for row in cursor.fetchall()]
        fulltext: list[Chunk] = []
        if hybrid:
            cursor.execute(_FULLTEXT_SQL, params)
            fulltext = [Chunk(*row) for row in cursor.fetchall()]
    return semantic, fulltext


def query_params(owner_id: int, model: str, vector: np.ndarray, limit: int, *, text: str = "") -> dict:
    """The bound parameters of the search queries (the vector as pgvector's text literal)."""
    return {
        "vector": "[" + ",".join(f"{value:.7g}" for value in vector) + "]",
        "owner": owner_id,
        "model": model,
        "limit": limit,
        "text": text,
    }


def semantic_sql(cursor, params: dict) -> str:
    """The nearest-chunks query for this owner: exact for few vectors, else the HNSW index (configured here).

    Runs inside the caller's transaction: SET LOCAL lasts until its end only, so pooled connections
    keep their defaults.
    """
    # No JIT: compiling the distance expressions costs more than a search (tens of ms for a few).
    cursor.execute("SELECT set_config('jit', 'off', true)")
    cap = settings.SEARCH_EXACT_MAX_VECTORS
    # An owner with an index of their own (services.owner_indexes) is searched through it: the planner
    # prefers the partial index, a graph of this owner's vectors only.
    dedicated = settings.SEARCH_OWNER_INDEX_MIN_VECTORS and owner_index_exists(cursor, params["owner"])
    if cap and not dedicated and _estimated_vectors(cursor, params) <= cap:
        return _EXACT_SQL
    cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
    cursor.execute("SELECT set_config('hnsw.max_scan_tuples', %s, true)", [str(MAX_SCAN_TUPLES)])
    # An owner's own graph holds only their vectors: a short search list is enough (measured, docs/search.md).
    wanted = settings.SEARCH_OWNER_INDEX_EF_SEARCH if dedicated else settings.SEARCH_HNSW_EF_SEARCH
    ef_search = max(wanted, min(params["limit"], 1000))
    cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
    return _SEMANTIC_SQL


def _estimated_vectors(cursor, params: dict) -> float:
    """How many vectors of the model the owner has, as the planner estimates it.

    Statistics lag behind (autovacuum's ANALYZE): a user who has just grown past the threshold is
    searched exactly for a while, slower but still right.
    """
    cursor.execute(_ESTIMATE_SQL, params)
    plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def _rank(semantic: Sequence[Chunk], fulltext: Sequence[Chunk], *, fused: bool = False) -> list[tuple[Chunk, float]]:
    """Chunks with their score, best first: cosine similarity alone, or fused with the full-text rank.

    The fused score is reciprocal rank fusion scaled to 0 to 1 (1.0: first in both rankings, about 0.5:
    first in one and absent from the other); only its order means something, not its size.
    """
    if not fused:
        return [(chunk, 1.0 - chunk.distance) for chunk in semantic]
    scores: dict[int, float] = {}
    chunks: dict[int, Chunk] = {}
    for ranking in (semantic, fulltext):
        for rank, chunk in enumerate(ranking, start=1):
            chunks[chunk.id] = chunk
            scores[chunk.id] = scores.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank)
    ordered = sorted(chunks, key=lambda chunk_id: (-scores[chunk_id], chunks[chunk_id].distance))
    return [(chunks[chunk_id], scores[chunk_id] / RRF_BEST) for chunk_id in ordered]


def _group(ranked: Sequence[tuple[Chunk, float]], documents: dict[int, Document], query: str) -> list[DocumentHit]:
    hits: dict[int, DocumentHit] = {}
    for chunk, score in ranked:
        document = documents.get(chunk.document_id)
        if document is None:  # vectors of a document deleted a moment ago (another database)
            continue
        hit = hits.get(chunk.document_id)
        if hit is None:
            hits[chunk.document_id] = DocumentHit(
                document=document,
                score=score,
                similarity=1.0 - chunk.distance,
                snippet=snippet(chunk.text, query),
                chunk_index=chunk.chunk_index,
                page=chunk.page,
                heading=chunk.heading,
            )
        else:
            hit.matching_chunks += 1
    return list(hits.values())


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_TERM = re.compile(r"\w{3,}")


def snippet(text: str, query: str, limit: int | None = None) -> str:
    """About `limit` characters of the chunk, starting at the sentence sharing most words with the query."""
    limit = limit or settings.SEARCH_SNIPPET_CHARS
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    terms = {term[:5] for term in _TERM.findall(query.lower())}
    best_start, best_hits = 0, 0
    for sentence in _SENTENCE.finditer(text):
        hits = len(terms & {word[:5] for word in _TERM.findall(sentence.group().lower())})
        if hits > best_hits:
            best_start, best_hits = sentence.start(), hits
    start = min(best_start, max(0, len(text) - limit))
    if start and text[start - 1] != " " and text[start] != " ":  # mid-word: begin at the next word
        following = text.find(" ", start)
        start = following + 1 if following != -1 else start
    piece = text[start : start + limit]
    if start + len(piece) < len(text) and " " in piece:
        piece = piece[: piece.rfind(" ")]
    end = start + len(piece)
    return ("… " if start else "") + piece.strip() + (" …" if end < len(text) else "")
