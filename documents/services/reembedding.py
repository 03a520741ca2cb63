"""Re-embedding stored chunks with another model (manage.py reembed), one document at a time.

The chunk texts already stored are embedded again, so no file is read and nothing is extracted
twice; each document's vectors are replaced in one transaction. A document already holding
vectors of the target model is skipped unless forced, so an interrupted run picks up where it
stopped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max

from documents.embedders import Embedder
from documents.models import Document, DocumentVector
from documents.routers import vector_db_alias
from documents.services.vectors import document_vectors_replace


def documents_needing_reembed(
    *, model_name: str, force: bool = False, document_ids: Iterable[int] | None = None
) -> list[int]:
    """Ids of documents with vectors, but none of `model_name` (all of them when forced), in id order."""
    vectors = DocumentVector.objects.using(vector_db_alias())
    if document_ids is not None:
        vectors = vectors.filter(document_id__in=list(document_ids))
    models_by_document: dict[int, set[str]] = defaultdict(set)
    for document_id, model in vectors.values_list("document_id", "embedding_model").distinct().order_by():
        models_by_document[document_id].add(model)
    return sorted(
        document_id for document_id, models in models_by_document.items() if force or model_name not in models
    )


def document_reembed(*, document_id: int, embedder: Embedder, keep_other_models: bool = False) -> int:
    """Embed the document's stored chunks with `embedder`; the number of chunks written (0 if it is gone)."""
    alias = vector_db_alias()
    vectors = DocumentVector.objects.using(alias).filter(document_id=document_id)
    # The newest set of chunks is the source; every model's set was cut from the same text anyway.
    newest = vectors.values("embedding_model").annotate(at=Max("updated_at")).order_by("-at").first()
    if newest is None:
        return 0
    source = vectors.filter(embedding_model=newest["embedding_model"]).order_by("chunk_index")
    stored = list(source.values_list("chunk_text", "page", "heading"))
    texts = [text for text, _, _ in stored]
    embeddings = embedder.embed_documents(texts)
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_id).first()
        if document is None:  # deleted meanwhile: its vectors went (or go) with it
            return 0
        document_vectors_replace(
            document_id=document_id,
            owner_id=document.owner_id,
            model_name=embedder.model_name,
            chunks=texts,
            embeddings=embeddings,
            keep_other_models=keep_other_models,
            locations=[(page, heading) for _, page, heading in stored],
        )
    return len(texts)
