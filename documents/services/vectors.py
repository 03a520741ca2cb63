"""Writes of document_vectors, wherever the router puts them (the main database or the vector one).

The vector database may be another PostgreSQL server, so nothing here joins or shares a
transaction with user_documents. Consistency across the two comes from:
- replacing a document's chunks in one transaction of the vector database;
- deleting a document's vectors when the document is deleted: in the same transaction when both
  tables share a database, else right after the main database commits (a delete that fails then is
  logged, and `vectors_orphaned_delete` — `manage.py reembed --prune` — removes what it left).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
from django.db import transaction

from documents.models import Document, DocumentVector
from documents.routers import vector_db_alias

logger = logging.getLogger(__name__)

BULK_BATCH = 500


def document_vectors_replace(
    *,
    document_id: int,
    owner_id: int,
    model_name: str,
    chunks: Sequence[str],
    embeddings: np.ndarray,
    keep_other_models: bool = False,
    locations: Sequence[tuple[int | None, str]] | None = None,
) -> int:
    """Make `chunks` the document's vectors in one transaction; readers see the old set or the new, never a mix.

    Vectors of other models go too, unless `keep_other_models` (a re-embedding that must not
    disturb searches still running on the old model). `locations` holds each chunk's (page, heading).
    """
    if len(chunks) != len(embeddings):
        raise ValueError(f"{len(chunks)} chunks but {len(embeddings)} embeddings")
    if locations is None:
        locations = [(None, "")] * len(chunks)
    if len(locations) != len(chunks):
        raise ValueError(f"{len(chunks)} chunks but {len(locations)} locations")
    alias = vector_db_alias()
    rows = [
        DocumentVector(
            document_id=document_id,
            owner_id=owner_id,
            chunk_index=index,
            chunk_text=text,
            embedding=vector,
            embedding_model=model_name,
            page=page,
            heading=heading,
        )
        for index, (text, vector, (page, heading)) in enumerate(zip(chunks, embeddings, locations, strict=True))
    ]
    with transaction.atomic(using=alias):
        old = DocumentVector.objects.using(alias).filter(document_id=document_id)
        if keep_other_models:
            old = old.filter(embedding_model=model_name)
        old.delete()
        DocumentVector.objects.using(alias).bulk_create(rows, batch_size=BULK_BATCH)
    return len(rows)


def document_vectors_delete(document_id: int) -> int:
    """Remove every vector of the document; the number removed."""
    alias = vector_db_alias()
    deleted, _ = DocumentVector.objects.using(alias).filter(document_id=document_id).delete()
    return deleted


def document_vectors_delete_after_delete(sender, instance: Document, using: str, **kwargs) -> None:
    """post_delete receiver of Document (connected in DocumentsConfig.ready)."""
    document_id = instance.pk
    if vector_db_alias() == using:
        # One database: the vectors go in the document's own transaction and come back with a rollback.
        document_vectors_delete(document_id)
        return
    transaction.on_commit(lambda: _delete_logging_failure(document_id), using=using)


def _delete_logging_failure(document_id: int) -> None:
    try:
        document_vectors_delete(document_id)
    except Exception:
        logger.exception(
            "could not delete the vectors of deleted document %s; `manage.py reembed --prune` removes them",
            document_id,
        )


def vectors_orphaned_delete(*, batch: int = 1000) -> int:
    """Delete vectors whose document no longer exists (left by a failed cross-database delete)."""
    alias = vector_db_alias()
    ids = list(DocumentVector.objects.using(alias).values_list("document_id", flat=True).distinct().order_by())
    removed = 0
    for chunk in _chunks(ids, batch):
        alive = set(Document.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        gone = [document_id for document_id in chunk if document_id not in alive]
        if gone:
            deleted, _ = DocumentVector.objects.using(alias).filter(document_id__in=gone).delete()
            removed += deleted
    return removed


def vectors_other_models_delete(*, model_name: str) -> int:
    """Delete every vector not made by `model_name` (after a re-embedding that kept them)."""
    alias = vector_db_alias()
    deleted, _ = DocumentVector.objects.using(alias).exclude(embedding_model=model_name).delete()
    return deleted


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
