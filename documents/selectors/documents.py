"""Reads of documents: what one user may see of theirs."""

from __future__ import annotations

from collections.abc import Mapping

import django_filters
from django.db.models import QuerySet

from core.filters import OwnedRowsFilter, StableOrderingFilter, filtered
from documents.models import Document, ProcessingStatus
from uploads.selectors import with_original_filename, with_upload_status

ORDERING_FIELDS = ("title", "created_at", "size")


class DocumentFilter(OwnedRowsFilter):
    search_fields = ("title", "author", "summary", "category")
    processing_status = django_filters.ChoiceFilter(choices=ProcessingStatus.choices)
    ordering = StableOrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = Document
        fields = ["processing_status", "category", "search", "ordering"]


def _annotated(documents: QuerySet[Document]) -> QuerySet[Document]:
    return with_original_filename(with_upload_status(documents, via="document"), via="document")


def document_list(*, owner, filters: Mapping | None = None) -> QuerySet[Document]:
    """The owner's documents, filtered by `filters`; InvalidFilters on bad values."""
    documents = _annotated(Document.objects.filter(owner=owner).order_by("-created_at", "-id"))
    return filtered(DocumentFilter, documents, filters)


def document_get(*, owner, document_id: int) -> Document | None:
    return _annotated(Document.objects.filter(owner=owner, pk=document_id)).first()
