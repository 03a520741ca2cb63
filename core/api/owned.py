"""APIs over rows that belong to the requesting user: inventory items, documents, tracked uploads.

The concrete APIs name their selectors, services and serializers (one APIView per URL, logic in
services and selectors); these bases hold what they share:
- another user's row is a 404, never a 403, so its existence is not revealed;
- lists are filtered by the query string and paginated with StandardPagination;
- nothing here answers an error: a file or a field the services refuse, a storage outage, every
  error these views let through is answered by the site's exception handler
  (instantory.api.exception_handler); a view only names the field a refused file is reported
  under (`rejected_field`);
- stored files are streamed by FileMixin views, together with
  storage_app.responses.StreamedResponseApiMixin.

The view bases and mixins carry comments, not docstrings: drf-spectacular publishes the first
docstring it finds among a view's classes as the description of each of its operations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import StandardPagination


def file_url(serializer: serializers.Serializer, row: Model, field: str, route: str) -> str | None:
    """The absolute URL of `route` for `row` while its file `field` holds a stored file, else None."""
    if not getattr(row, field).name:
        return None
    path = reverse(route, args=[row.pk])
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request else path


def list_parameters(*, search: str, ordering_fields: Sequence[str]) -> list[OpenApiParameter]:
    """The schema of the query string every owned list takes: category, text search, ordering."""
    return [
        OpenApiParameter("category", str, description="Exact category."),
        OpenApiParameter("search", str, description=search),
        OpenApiParameter(
            "ordering",
            str,
            many=True,
            explode=False,
            description="Comma-separated fields, `-` for descending: " + ", ".join(ordering_fields) + ".",
            enum=[*ordering_fields, *(f"-{field}" for field in ordering_fields)],
        ),
    ]


# An API over one kind of row the requesting user owns. `select_one(owner=..., <lookup_kwarg>=...)` is
# the app's selector for one row; `lookup_kwarg` is also the URL's keyword (item_id, document_id, upload_id).
class BaseApi(APIView):
    select_one: ClassVar[Callable[..., Model | None]]
    lookup_kwarg: ClassVar[str]
    output_serializer_class: ClassVar[type[serializers.Serializer]]
    # The form field a refused file (the upload pipeline's UploadRejected) is reported under.
    file_field: ClassVar[str] = "file"

    def get_owned(self, object_id: int | None = None) -> Model:
        if object_id is None:
            object_id = self.kwargs[self.lookup_kwarg]
        row = type(self).select_one(owner=self.request.user, **{self.lookup_kwarg: object_id})
        if row is None:
            raise Http404
        return row

    def output(self, row: Model, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.output_serializer_class(row, context={"request": self.request}).data, status=status_code)

    # The field the exception handler reports a refused file under (`exc` is an UploadRejected, a
    # Django ValidationError with a `code`).
    def rejected_field(self, exc: DjangoValidationError) -> str:
        return self.file_field


# GET: a page of `list_rows(request)`; a Django ValidationError from it (InvalidFilters) is raised
# for the exception handler, a 400 naming the fields.
class ListMixin:
    pagination_class = StandardPagination

    def list_rows(self, request) -> QuerySet:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        rows = self.list_rows(request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        data = self.output_serializer_class(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


# POST: `input_serializer_class` checks the body, `create(data)` calls the app's service for the user.
# The answer is the new row read back through the selector, so it shows what a later GET shows. A
# refusal from the service (its transaction rolled back) is raised for the exception handler.
class CreateMixin:
    input_serializer_class: ClassVar[type[serializers.Serializer]]
    created_status: ClassVar[int] = status.HTTP_201_CREATED

    def create(self, data: dict) -> Model:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        payload = self.input_serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        row = self.create(dict(payload.validated_data))
        return self.output(self.get_owned(row.pk), status_code=self.created_status)


class RetrieveMixin:
    def get(self, request, *args, **kwargs):
        return self.output(self.get_owned())


# DELETE through `destroy(row)`, the app's service, so the row's stored files go too.
class DestroyMixin:
    def destroy(self, row: Model) -> None:
        raise NotImplementedError

    def delete(self, request, *args, **kwargs):
        self.destroy(self.get_owned())
        return Response(status=status.HTTP_204_NO_CONTENT)


# GET streams `file_response(row)`; 404 when no file is stored. The storage's errors (503 while it is
# down) are the exception handler's. Put storage_app.responses.StreamedResponseApiMixin before it, so
# a client asking for the file's type gets the file, not a 406.
class FileMixin:
    def file_response(self, row: Model) -> FileResponse:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        return self.file_response(self.get_owned())
