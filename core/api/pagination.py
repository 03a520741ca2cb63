"""Page-number pagination whose page size a client may choose, within bounds, validated as documented."""

from __future__ import annotations

from django.core.paginator import Page
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Page-number pagination whose page size a client may choose, within bounds.

    `page` and `page_size` are validated as the schema says (integers, `page` from 1, `page_size`
    from 1 to `max_page_size`): anything else is a 400 naming the parameter, never a silent default.
    A page past the end is an empty page (200), not an error: the list may have shrunk meanwhile.
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return _bounded_int(raw, self.page_size_query_param, 1, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        paginator = self.django_paginator_class(queryset, page_size)
        raw = request.query_params.get(self.page_query_param)
        number = 1 if raw is None else _bounded_int(raw, self.page_query_param, 1, None)
        if number > paginator.num_pages:
            self.page = Page([], number, paginator)
        else:
            self.page = paginator.page(number)
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)

    def get_previous_link(self):
        if self.page.number > self.page.paginator.num_pages:  # past the end: back to the last page
            last = self.page.paginator.num_pages
            if last < 1:
                return None
            from rest_framework.utils.urls import replace_query_param

            return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, last)
        return super().get_previous_link()

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


def _bounded_int(raw: str, name: str, minimum: int, maximum: int | None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number is required."]}) from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum}" + (f" to {maximum}" if maximum is not None else "")
        raise ValidationError({name: [f"Must be {bound}."]})
    return value
