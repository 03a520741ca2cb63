"""Query-string filters of the inventory list and export: category, text search, ordering."""

from __future__ import annotations

import django_filters
from django.db.models import F, Func, Q, QuerySet, TextField, Value

from inventory.models import InventoryItem

ORDERING_FIELDS = ("name", "created_at", "retail_price", "import_cost")
SEARCH_MAX_LENGTH = 200


class StableOrderingFilter(django_filters.OrderingFilter):
    """Orders by the chosen fields, then by id so that pages never overlap or skip rows.

    Items without a price sort last whichever way the price is ordered.
    """

    def filter(self, qs: QuerySet, value) -> QuerySet:
        params = [param for param in value or [] if param]
        if not params:
            return qs
        ordering = []
        for param in params:
            descending = param.startswith("-")
            expression = F(self.param_map.get(param.lstrip("-"), param.lstrip("-")))
            ordering.append(expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True))
        return qs.order_by(*ordering, "-id")


class InventoryItemFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(field_name="category", lookup_expr="exact", max_length=100)
    search = django_filters.CharFilter(method="filter_search", max_length=SEARCH_MAX_LENGTH)
    ordering = StableOrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = InventoryItem
        fields = ["category", "search", "ordering"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        term = value.strip()
        if not term:
            return queryset
        # Tags are matched inside their joined text so that "bead" finds the tag "beaded".
        tags_text = Func(F("tags"), Value(" "), function="array_to_string", output_field=TextField())
        return queryset.alias(tags_text=tags_text).filter(
            Q(name__icontains=term)
            | Q(description__icontains=term)
            | Q(material__icontains=term)
            | Q(color__icontains=term)
            | Q(tags_text__icontains=term)
        )
