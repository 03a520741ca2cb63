"""manage.py search_owner_indexes: owners with many vectors get a partial HNSW index, which their searches use."""

import io

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection

from documents.selectors import search as search_module
from documents.services.owner_indexes import owner_index_exists, owner_index_name
from tests.documents.selectors.test_search import random_vectors_sql

# CREATE INDEX CONCURRENTLY refuses to run inside a transaction, so the test commits for real.
pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "all-MiniLM-L6-v2-onnx-int8"


def run(**options) -> str:
    out = io.StringIO()
    call_command("search_owner_indexes", stdout=out, **options)
    return out.getvalue()


def test_a_large_minority_owner_gets_an_index_that_its_searches_use(settings, django_user_model):
    settings.SEARCH_OWNER_INDEX_MIN_VECTORS = 100
    mid, big, small = (django_user_model.objects.create(username=name) for name in ("mid", "big", "small"))
    with connection.cursor() as cursor:
        cursor.execute(random_vectors_sql(str(mid.pk), "1 + g / 10", "g % 10", 150, MODEL))
        cursor.execute(random_vectors_sql(str(big.pk), "1000 + g / 10", "g % 10", 400, MODEL))  # most of the table
        cursor.execute(random_vectors_sql(str(small.pk), "5000 + g / 10", "g % 10", 20, MODEL))

    assert f"build owner {mid.pk} (150 vectors)" in run(dry_run=True)
    with connection.cursor() as cursor:
        assert not owner_index_exists(cursor, mid.pk)

    out = run()

    assert f"build owner {mid.pk}" in out
    assert "1 owners with a dedicated index" in out
    with connection.cursor() as cursor:
        assert owner_index_exists(cursor, mid.pk)
        assert not owner_index_exists(cursor, big.pk)  # 70% of the table: the shared graph serves it
        assert not owner_index_exists(cursor, small.pk)
        params = search_module.query_params(mid.pk, MODEL, np.full(384, 0.05, dtype=np.float32), 40)
        cursor.execute("BEGIN")
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):  # as on a big table
            cursor.execute(f"SET LOCAL {setting} = off")
        sql = search_module.semantic_sql(cursor, params)  # not exact, though 150 is under the exact threshold
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("ROLLBACK")
    assert owner_index_name(mid.pk) in plan

    # The owner shrinks below the threshold: the next run drops the index; a second run has nothing to do.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM document_vectors WHERE owner_id = %s AND chunk_index > 0", [mid.pk])
    assert f"drop owner {mid.pk}" in run()
    assert "0 owners with a dedicated index" in run()
    with connection.cursor() as cursor:
        assert not owner_index_exists(cursor, mid.pk)
