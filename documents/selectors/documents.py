"""Reads of documents: what one user may see of theirs."""

from __future__ import annotations

from collections.abc import Mapping

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import F, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value

from documents.models import Document, ProcessingStatus
from inventory.filters import StableOrderingFilter
from storage_app.models import UploadStatus, UploadTracking

ORDERING_FIELDS = ("title", "created_at", "size")
SEARCH_MAX_LENGTH = 200


class InvalidFilters(ValidationError):
    """Query-string filters that do not validate; `message_dict` names each field and what is wrong."""


class DocumentFilter(django_filters.FilterSet):
    processing_status = django_filters.ChoiceFilter(choices=ProcessingStatus.choices)
    category = django_filters.CharFilter(field_name="category", lookup_expr="exact", max_length=100)
    search = django_filters.CharFilter(method="filter_search", max_length=SEARCH_MAX_LENGTH)
    ordering = StableOrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = Document
        fields = ["processing_status", "category", "search", "ordering"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        term = value.strip()
        if not term:
            return queryset
        tags_text = Func(F("tags"), Value(" "), function="array_to_string", output_field=TextField())
        return queryset.alias(tags_text=tags_text).filter(
            Q(title__icontains=term)
            | Q(author__icontains=term)
            | Q(summary__icontains=term)
            | Q(category__icontains=term)
            | Q(tags_text__icontains=term)
        )


def _annotated(documents: QuerySet[Document]) -> QuerySet[Document]:
    # Subqueries rather than a join per row: a page costs the same number of queries whatever its size.
    uploads = UploadTracking.objects.filter(document=OuterRef("pk")).order_by("-created_at", "-id")
    stored = uploads.filter(status=UploadStatus.COMPLETE)
    return documents.annotate(
        upload_status=Subquery(uploads.values("status")[:1]),
        original_filename=Subquery(stored.values("original_filename")[:1]),
    )


def document_list(*, owner, filters: Mapping | None = None) -> QuerySet[Document]:
    """The owner's documents, filtered by `filters`; InvalidFilters on bad values."""
    documents = _annotated(Document.objects.filter(owner=owner).order_by("-created_at", "-id"))
    filterset = DocumentFilter(data=filters or {}, queryset=documents)
    if not filterset.is_valid():
        raise InvalidFilters({field: list(errors) for field, errors in filterset.errors.items()})
    return filterset.qs


def document_get(*, owner, document_id: int) -> Document | None:
    return _annotated(Document.objects.filter(owner=owner, pk=document_id)).first()
