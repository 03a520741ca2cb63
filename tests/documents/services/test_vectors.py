"""Vector writes in the single-database layout: atomic replacement, deletes that follow the document."""

import numpy as np
import pytest
from django.db import DataError, transaction
from model_bakery import baker

from documents.models import Document, DocumentVector
from documents.routers import vector_db_alias
from documents.services.documents import document_delete
from documents.services.vectors import (
    document_vectors_replace,
    vectors_orphaned_delete,
    vectors_other_models_delete,
)

pytestmark = pytest.mark.django_db


def unit_vectors(count: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def add_vectors(document: Document, count: int = 3, model: str = "m1") -> None:
    document_vectors_replace(
        document_id=document.pk,
        owner_id=document.owner_id,
        model_name=model,
        chunks=[f"chunk {i}" for i in range(count)],
        embeddings=unit_vectors(count),
        keep_other_models=True,
    )


def test_without_a_vector_database_vectors_live_in_the_main_one(settings):
    assert "vectors" not in settings.DATABASES
    assert vector_db_alias() == "default"


def test_replace_swaps_the_whole_set(user):
    document = baker.make(Document, owner=user)
    add_vectors(document, 5)
    document_vectors_replace(
        document_id=document.pk, owner_id=user.pk, model_name="m1", chunks=["a", "b"], embeddings=unit_vectors(2)
    )
    assert list(DocumentVector.objects.filter(document_id=document.pk).values_list("chunk_text", flat=True)) == [
        "a",
        "b",
    ]


def test_a_failed_replace_keeps_the_old_set(user):
    document = baker.make(Document, owner=user)
    add_vectors(document, 3)
    bad = [*unit_vectors(2), np.ones(10, dtype=np.float32)]  # the last row has the wrong size
    with pytest.raises(DataError):
        document_vectors_replace(
            document_id=document.pk, owner_id=user.pk, model_name="m1", chunks=["x", "y", "z"], embeddings=bad
        )
    assert list(DocumentVector.objects.filter(document_id=document.pk).values_list("chunk_text", flat=True)) == [
        "chunk 0",
        "chunk 1",
        "chunk 2",
    ]


def test_replace_refuses_mismatched_lengths(user):
    with pytest.raises(ValueError, match="2 chunks but 1 embeddings"):
        document_vectors_replace(
            document_id=1, owner_id=user.pk, model_name="m", chunks=["a", "b"], embeddings=unit_vectors(1)
        )


def test_replace_of_one_model_can_keep_the_others(user):
    document = baker.make(Document, owner=user)
    add_vectors(document, 3, model="old")
    add_vectors(document, 2, model="new")
    models = set(DocumentVector.objects.filter(document_id=document.pk).values_list("embedding_model", flat=True))
    assert models == {"old", "new"}
    document_vectors_replace(
        document_id=document.pk, owner_id=user.pk, model_name="new", chunks=["n"], embeddings=unit_vectors(1)
    )
    assert set(DocumentVector.objects.filter(document_id=document.pk).values_list("embedding_model", flat=True)) == {
        "new"
    }


def test_deleting_a_document_deletes_its_vectors_only(user, other_user):
    document, kept = baker.make(Document, owner=user), baker.make(Document, owner=other_user)
    add_vectors(document)
    add_vectors(kept)
    document.delete()
    assert not DocumentVector.objects.filter(document_id=document.pk).exists()
    assert DocumentVector.objects.filter(document_id=kept.pk).count() == 3


def test_a_rolled_back_delete_keeps_the_vectors(user):
    document = baker.make(Document, owner=user)
    add_vectors(document)

    def delete_then_fail():
        with transaction.atomic():
            Document.objects.filter(pk=document.pk).delete()
            assert not DocumentVector.objects.filter(document_id=document.pk).exists()
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        delete_then_fail()
    assert Document.objects.filter(pk=document.pk).exists()
    assert DocumentVector.objects.filter(document_id=document.pk).count() == 3


def test_the_delete_service_and_a_deleted_user_take_the_vectors_along(user, other_user):
    first, second = baker.make(Document, owner=user), baker.make(Document, owner=other_user)
    add_vectors(first)
    add_vectors(second)
    document_delete(document=first)
    other_user.delete()
    assert not DocumentVector.objects.exists()


def test_orphans_and_other_models_are_pruned(user):
    alive = baker.make(Document, owner=user)
    add_vectors(alive, 2, model="current")
    add_vectors(alive, 2, model="retired")
    DocumentVector.objects.create(
        document_id=alive.pk + 1000,
        owner_id=user.pk,
        chunk_index=0,
        chunk_text="x",
        embedding=unit_vectors(1)[0],
        embedding_model="current",
    )
    assert vectors_orphaned_delete(batch=1) == 1
    assert vectors_other_models_delete(model_name="current") == 2
    assert list(DocumentVector.objects.values_list("document_id", "embedding_model").order_by().distinct()) == [
        (alive.pk, "current")
    ]
