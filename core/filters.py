"""Query-string filters shared by the per-user lists (inventory items, documents): category, text search, ordering."""

from __future__ import annotations

from collections.abc import Mapping

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import F, Func, Q, QuerySet, TextField, Value

SEARCH_MAX_LENGTH = 200


class InvalidFilters(ValidationError):
    """Query-string filters that do not validate; `message_dict` names each field and what is wrong."""


class StableOrderingFilter(django_filters.OrderingFilter):
    """Orders by the chosen fields, then by id so that pages never overlap or skip rows.

    Rows without a value (a price, say) sort last whichever way the field is ordered.
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


class OwnedRowsFilter(django_filters.FilterSet):
    """Exact category and a case-insensitive text search over `search_fields` and the `tags` array.

    Subclasses add `ordering = StableOrderingFilter(fields=...)` and their own Meta.
    """

    search_fields: tuple[str, ...] = ()

    category = django_filters.CharFilter(field_name="category", lookup_expr="exact", max_length=100)
    search = django_filters.CharFilter(method="filter_search", max_length=SEARCH_MAX_LENGTH)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        term = value.strip()
        if not term:
            return queryset
        # Tags are matched inside their joined text so that "bead" finds the tag "beaded".
        tags_text = Func(F("tags"), Value(" "), function="array_to_string", output_field=TextField())
        matches = Q(tags_text__icontains=term)
        for field in self.search_fields:
            matches |= Q(**{f"{field}__icontains": term})
        return queryset.alias(tags_text=tags_text).filter(matches)


def filtered(filterset_class: type[django_filters.FilterSet], rows: QuerySet, filters: Mapping | None) -> QuerySet:
    """`rows` narrowed by `filters` (a query string); InvalidFilters when a value does not validate."""
    filterset = filterset_class(data=filters or {}, queryset=rows)
    if not filterset.is_valid():
        raise InvalidFilters({field: list(errors) for field, errors in filterset.errors.items()})
    return filterset.qs
