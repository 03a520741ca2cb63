"""Dedicated HNSW indexes for owners with many vectors but a small share of the table (partial indexes).

The shared index is one graph over every owner's vectors, walked with the owner filter applied to
what it yields (pgvector's iterative scan). For an owner holding a tenth of a million vectors the
walk visits about ten nodes of others per node kept, and recall@10 stopped near 0.93 at p95 17 ms
(docs/benchmarks-search-1m.md, before this). A partial index `WHERE owner_id = X` is a graph of that
owner's vectors alone, searched without a filter: its recall and latency are those of a table of
the owner's size. The planner picks it by itself (the search query names the owner, and the
partial index is the smaller), so the selector only has to know it exists.

Which owners get one is decided from counts, by `manage.py search_owner_indexes` (run it after a
large import, or nightly): at least SEARCH_OWNER_INDEX_MIN_VECTORS vectors, below exact search's
reach, and at most MAX_SHARE of the table; an owner holding most of the table is served as well by
the shared graph, since most of what it yields is theirs. Indexes are built and dropped
CONCURRENTLY: writes go on meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connections

from documents.models import HNSW_EF_CONSTRUCTION, HNSW_M
from documents.routers import vector_db_alias

logger = logging.getLogger(__name__)

PREFIX = "docvec_owner_hnsw_"
MAX_SHARE = 0.5


@dataclass(frozen=True)
class OwnerIndexPlan:
    wanted: dict[int, int]  # owner id -> vectors, for the owners that should have an index
    existing: set[int]
    invalid: set[int]  # left INVALID by an interrupted concurrent build

    @property
    def to_create(self) -> list[int]:
        return sorted(set(self.wanted) - (self.existing - self.invalid))

    @property
    def to_drop(self) -> list[int]:
        return sorted((self.existing - set(self.wanted)) | self.invalid)


def owner_index_name(owner_id: int) -> str:
    return f"{PREFIX}{int(owner_id)}"


def owner_index_plan(*, min_vectors: int, max_share: float = MAX_SHARE) -> OwnerIndexPlan:
    """What the indexes should be, from a count of every owner's vectors (one scan of the table)."""
    with connections[vector_db_alias()].cursor() as cursor:
        cursor.execute("SELECT owner_id, count(*) FROM document_vectors GROUP BY owner_id")
        counts = dict(cursor.fetchall())
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
            "WHERE c.relname LIKE %s",
            [PREFIX + "%"],
        )
        indexes = {int(name[len(PREFIX) :]): valid for name, valid in cursor.fetchall()}
    total = sum(counts.values()) or 1
    wanted = {owner: n for owner, n in counts.items() if n >= min_vectors and n / total <= max_share}
    return OwnerIndexPlan(
        wanted=wanted, existing=set(indexes), invalid={owner for owner, valid in indexes.items() if not valid}
    )


def owner_index_create(owner_id: int, *, maintenance_work_mem: str = "") -> None:
    """Build one owner's partial index concurrently (autocommit: CONCURRENTLY refuses a transaction)."""
    name = owner_index_name(owner_id)
    with connections[vector_db_alias()].cursor() as cursor:
        if maintenance_work_mem:
            cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [maintenance_work_mem])
        cursor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON document_vectors "  # only integers are interpolated
            f"USING hnsw (embedding vector_cosine_ops) WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
            f"WHERE owner_id = {int(owner_id)}"
        )
        cursor.execute("ANALYZE document_vectors")  # the planner compares the partial index by its size
    logger.info("built %s", name)


def owner_index_drop(owner_id: int) -> None:
    with connections[vector_db_alias()].cursor() as cursor:
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {owner_index_name(owner_id)}")
    logger.info("dropped %s", owner_index_name(owner_id))


def owner_index_exists(cursor, owner_id: int) -> bool:
    """Whether the owner has a valid dedicated index (a catalog lookup, no table read)."""
    cursor.execute(
        "SELECT 1 FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = %s AND i.indisvalid",
        [owner_index_name(owner_id)],
    )
    return cursor.fetchone() is not None
