"""Checks run with VECTOR_DATABASE_URL set: document_vectors in a second PostgreSQL database.

Not collected by the normal run (the name does not match test_*.py): tests/documents/test_vector_database.py
starts pytest on this file in a subprocess whose settings carry the second database, because
Django sets up test databases once per process from the settings it started with.
"""

import io

import pytest
from django.core.management import call_command
from django.db import connections, router, transaction
from model_bakery import baker

from documents.models import Document, DocumentVector
from documents.routers import vector_db_alias
from documents.selectors.search import document_search
from documents.services.documents import document_delete
from documents.services.processing import document_process
from documents.services.vectors import vectors_orphaned_delete
from tests.documents.files import stored_document

BOTH = ["default", "vectors"]
pytestmark = pytest.mark.django_db(databases=BOTH, transaction=True)

TEXT = "Care of woven baskets: brush off dust, keep them out of direct sunlight and never soak them in water."


def tables(alias: str) -> set[str]:
    return set(connections[alias].introspection.table_names())


def scalar(alias: str, sql: str, params=()):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def vector_count(document_id: int) -> int:
    return scalar("vectors", "SELECT count(*) FROM document_vectors WHERE document_id = %s", [document_id])


def test_the_vector_alias_is_another_database():
    assert vector_db_alias() == "vectors"
    assert scalar("default", "SELECT current_database()") != scalar("vectors", "SELECT current_database()")
    assert router.db_for_write(DocumentVector) == "vectors"
    assert router.db_for_read(DocumentVector) == "vectors"
    assert router.db_for_write(Document) == "default"


def test_migrations_put_each_table_in_its_own_database():
    main, vectors = tables("default"), tables("vectors")
    assert "document_vectors" in vectors
    assert "user_documents" not in vectors
    assert not {"auth_user", "user_inventory", "upload_tracking"} & vectors
    assert "user_documents" in main
    assert "document_vectors" not in main
    assert scalar("vectors", "SELECT count(*) FROM pg_extension WHERE extname = 'vector'") == 1
    indexes = {
        row[0]
        for row in connections["vectors"]
        .cursor()
        .execute("SELECT indexname FROM pg_indexes WHERE tablename = 'document_vectors'")
    }
    assert {"docvec_embedding_hnsw", "docvec_chunk_fts", "docvec_owner_model_idx"} <= indexes


def test_the_release_step_migrates_the_vector_database():
    out = io.StringIO()
    call_command("migrate_vectors", "--noinput", stdout=out)
    assert "No migrations to apply." in out.getvalue()


def test_processing_writes_vectors_there_and_the_document_here(user, local_embedder):
    document = stored_document(user, "care.txt", TEXT.encode(), "text/plain")
    assert document_process(document_id=document.pk).status == "complete"
    assert vector_count(document.pk) >= 1
    assert scalar("default", "SELECT processing_status FROM user_documents WHERE id = %s", [document.pk]) == "complete"
    hits = document_search(owner=user, query="how to clean a basket", k=5).results
    assert [hit.document.pk for hit in hits] == [document.pk]


def test_deleting_a_document_removes_its_vectors_after_the_commit(user, local_embedder):
    document = stored_document(user, "care.txt", TEXT.encode(), "text/plain")
    document_process(document_id=document.pk)
    kept = stored_document(user, "kept.txt", TEXT.encode(), "text/plain")
    document_process(document_id=kept.pk)

    document_id = document.pk
    with transaction.atomic():
        document_delete(document=document)
        # Not before the main database commits: a rollback there must find the vectors still in place.
        assert vector_count(document_id) >= 1

    assert vector_count(document_id) == 0
    assert vector_count(kept.pk) >= 1


def test_a_rolled_back_delete_keeps_the_vectors(user, local_embedder):
    document = stored_document(user, "care.txt", TEXT.encode(), "text/plain")
    document_process(document_id=document.pk)

    def delete_and_fail():
        with transaction.atomic():
            Document.objects.filter(pk=document.pk).delete()
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        delete_and_fail()
    assert Document.objects.filter(pk=document.pk).exists()
    assert vector_count(document.pk) >= 1


def test_a_deleted_user_takes_the_vectors_along(user, other_user, local_embedder):
    mine = stored_document(user, "care.txt", TEXT.encode(), "text/plain")
    theirs = stored_document(other_user, "care.txt", TEXT.encode(), "text/plain")
    document_process(document_id=mine.pk)
    document_process(document_id=theirs.pk)
    mine_id = mine.pk
    user.delete()
    assert vector_count(mine_id) == 0
    assert vector_count(theirs.pk) >= 1


def test_orphans_are_found_across_the_two_databases(user, local_embedder):
    alive = stored_document(user, "care.txt", TEXT.encode(), "text/plain")
    document_process(document_id=alive.pk)
    gone = baker.make(Document, owner=user)
    DocumentVector.objects.create(
        document_id=gone.pk,
        owner_id=user.pk,
        chunk_index=0,
        chunk_text="orphan",
        embedding=local_embedder.embed_query("orphan"),
        embedding_model=local_embedder.model_name,
    )
    # A raw delete skips Django's signals: the vectors are left behind, as after a failed cross-database delete.
    with connections["default"].cursor() as cursor:
        cursor.execute("DELETE FROM user_documents WHERE id = %s", [gone.pk])
    assert vector_count(gone.pk) == 1

    assert vectors_orphaned_delete() == 1
    assert vector_count(gone.pk) == 0
    assert vector_count(alive.pk) >= 1
