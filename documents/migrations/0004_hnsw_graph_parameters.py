"""Rebuild the HNSW index with a denser graph (m=24, ef_construction=100), without blocking writes.

The new index is built under a new name with CREATE INDEX CONCURRENTLY, then the old one is dropped
concurrently: searches keep an index all along, uploads keep writing. Hence a non-atomic migration
(PostgreSQL refuses CONCURRENTLY inside a transaction). At a million 384-d vectors the same index
built in 1,349 s (22 minutes, two loaded cores; docs/benchmarks-search-1m.md) and is 1.9 GB; a
concurrent build scans the table twice, a little longer. Give the session a large
`maintenance_work_mem` (PGOPTIONS='-c maintenance_work_mem=3GB' python manage.py migrate), else the
graph spills to disk and the build takes several times longer. An
interrupted concurrent build leaves an INVALID index: drop it (`DROP INDEX CONCURRENTLY
docvec_embedding_hnsw`) and run the migration again.
"""

import pgvector.django.indexes
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("documents", "0003_chunk_page_heading"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="documentvector",
            index=pgvector.django.indexes.HnswIndex(
                ef_construction=100,
                fields=["embedding"],
                m=24,
                name="docvec_embedding_hnsw",
                opclasses=["vector_cosine_ops"],
            ),
        ),
        RemoveIndexConcurrently(
            model_name="documentvector",
            name="document_vectors_embedding_hnsw",
        ),
    ]
