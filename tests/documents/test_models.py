import hashlib

import pytest
from django.db import IntegrityError, connection
from model_bakery import baker
from pgvector.django import CosineDistance

from documents.models import EMBEDDING_DIMENSIONS, Document, DocumentVector


def unit_vector(index: int) -> list[float]:
    vector = [0.0] * EMBEDDING_DIMENSIONS
    vector[index] = 1.0
    return vector


@pytest.mark.django_db
def test_document_tables_and_checksum(user):
    checksum = hashlib.sha256(b"hello").hexdigest()
    document = baker.make(Document, owner=user, title="Price list", checksum=checksum, size=5)
    assert Document._meta.db_table == "user_documents"
    assert DocumentVector._meta.db_table == "document_vectors"
    assert Document.objects.get(pk=document.pk).processing_status == "pending"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [{"size": -1}, {"checksum": "not-a-sha"}, {"processing_status": "lost"}],
)
def test_document_constraints(user, fields):
    with pytest.raises(IntegrityError):
        Document.objects.create(owner=user, title="x", **fields)


@pytest.mark.django_db
def test_vectors_order_by_cosine_distance_through_the_hnsw_index(user):
    for index in range(3):
        DocumentVector.objects.create(
            document_id=index + 1,
            owner_id=user.pk,
            chunk_index=0,
            chunk_text=f"chunk {index}",
            embedding=unit_vector(index),
            embedding_model="test-model",
        )
    nearest = (
        DocumentVector.objects.filter(owner_id=user.pk)
        .annotate(distance=CosineDistance("embedding", unit_vector(1)))
        .order_by("distance")
        .first()
    )
    assert nearest.chunk_text == "chunk 1"
    assert nearest.distance == pytest.approx(0.0)

    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM document_vectors ORDER BY embedding <=> %s::vector LIMIT 5",
            [str(unit_vector(1))],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "docvec_embedding_hnsw" in plan


@pytest.mark.django_db
def test_one_chunk_per_index_and_model(user):
    values = {
        "document_id": 1,
        "owner_id": user.pk,
        "chunk_index": 0,
        "chunk_text": "a",
        "embedding": unit_vector(0),
        "embedding_model": "m",
    }
    DocumentVector.objects.create(**values)
    DocumentVector.objects.create(**{**values, "embedding_model": "other"})
    with pytest.raises(IntegrityError):
        DocumentVector.objects.create(**values)


@pytest.mark.django_db
def test_wrong_dimension_is_refused(user):
    with pytest.raises(Exception, match="dimensions"):
        DocumentVector.objects.create(
            document_id=1, owner_id=user.pk, chunk_index=0, chunk_text="a", embedding=[1.0, 0.0], embedding_model="m"
        )
