"""APIs over rows that belong to the requesting user: inventory items, documents, tracked uploads.

The concrete APIs name their selectors, services and serializers (one APIView per URL, logic in
services and selectors); these bases hold what they share:
- another user's row is a 404, never a 403, so its existence is not revealed;
- lists are filtered by the query string and paginated with StandardPagination;
- a file the upload pipeline refuses, or a field a model refuses, is a 400 naming the field, and
  nothing is written;
- stored files are streamed in constant memory, with a 503 while the storage holding them is down.

The view bases and mixins carry comments, not docstrings: drf-spectacular publishes the first
docstring it finds among a view's classes as the description of each of its operations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
from storage_app.exceptions import StorageUnavailable
from storage_app.responses import StreamedResponseApiMixin, storage_unavailable_response
from uploads.models import UploadStatus
from uploads.validation import UploadRejected


def field_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """A model's or a selector's ValidationError as DRF's: a 400 whose body names each field."""
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def file_url(serializer: serializers.Serializer, row: Model, field: str, route: str) -> str | None:
    """The absolute URL of `route` for `row` while its file `field` holds a stored file, else None."""
    if not getattr(row, field).name:
        return None
    path = reverse(route, args=[row.pk])
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request else path


def upload_status_field(help_text: str) -> serializers.ChoiceField:
    """The status of a row's newest upload (the selectors' `upload_status` annotation); null before any upload."""
    return serializers.ChoiceField(choices=UploadStatus.choices, read_only=True, allow_null=True, help_text=help_text)


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
    # The form field a refused file is reported under.
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

    def rejected_field(self, exc: UploadRejected) -> str:
        return self.file_field

    @contextmanager
    def refusals_as_400(self) -> Iterator[None]:
        """Around a write service: a refused file or field becomes a 400 (the service's transaction rolled back)."""
        try:
            yield
        except UploadRejected as exc:
            raise serializers.ValidationError({self.rejected_field(exc): [exc.message], "code": exc.code}) from None
        except DjangoValidationError as exc:
            raise field_errors(exc) from None


# GET: a page of `list_rows(request)`; a Django ValidationError from it (InvalidFilters) is a 400.
class ListMixin:
    pagination_class = StandardPagination

    def list_rows(self, request) -> QuerySet:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        try:
            rows = self.list_rows(request)
        except DjangoValidationError as exc:
            raise field_errors(exc) from None
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        data = self.output_serializer_class(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


# POST: `input_serializer_class` checks the body, `create(data)` calls the app's service for the user.
# The answer is the new row read back through the selector, so it shows what a later GET shows.
class CreateMixin:
    input_serializer_class: ClassVar[type[serializers.Serializer]]
    created_status: ClassVar[int] = status.HTTP_201_CREATED

    def create(self, data: dict) -> Model:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        payload = self.input_serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        with self.refusals_as_400():
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


# GET streams `file_response(row)`; 404 when no file is stored, 503 when its storage is down.
class FileMixin(StreamedResponseApiMixin):
    def file_response(self, row: Model) -> FileResponse:
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        row = self.get_owned()
        try:
            return self.file_response(row)
        except StorageUnavailable:
            return storage_unavailable_response()
