"""Documents over the API: upload, list, retrieve, download (streamed from whichever backend holds it), delete."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from documents.models import Document, ProcessingStatus
from documents.selectors.documents import ORDERING_FIELDS, InvalidFilters, document_get, document_list
from documents.services.documents import document_create, document_delete
from storage_app.exceptions import StorageUnavailable
from storage_app.file_responses import StreamedResponseApiMixin, storage_unavailable_response, stored_file_response
from storage_app.models import UploadStatus
from storage_app.validation import UploadRejected

MAX_TAGS = 30

LIST_PARAMETERS = [
    OpenApiParameter("processing_status", str, enum=ProcessingStatus.values, description="Text-processing status."),
    OpenApiParameter("category", str, description="Exact category."),
    OpenApiParameter("search", str, description="Text in the title, author, summary, category or tags."),
    OpenApiParameter(
        "ordering",
        str,
        many=True,
        explode=False,
        description="Comma-separated fields, `-` for descending: " + ", ".join(ORDERING_FIELDS) + ".",
        enum=[*ORDERING_FIELDS, *(f"-{field}" for field in ORDERING_FIELDS)],
    ),
]


class DocumentOutputSerializer(serializers.ModelSerializer):
    filename = serializers.SerializerMethodField(help_text="The name the file was uploaded with.")
    download_url = serializers.SerializerMethodField(help_text="Streams the file (owner only); null until stored.")
    upload_status = serializers.ChoiceField(
        choices=UploadStatus.choices, read_only=True, allow_null=True, help_text="Status of the newest upload."
    )

    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "author",
            "category",
            "tags",
            "summary",
            "filename",
            "content_type",
            "size",
            "checksum",
            "page_count",
            "processing_status",
            "processing_error",
            "upload_status",
            "download_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_filename(self, document: Document) -> str | None:
        return download_filename(document) if document.file.name else None

    def get_download_url(self, document: Document) -> str | None:
        if not document.file.name:
            return None
        path = reverse("document-download", args=[document.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


def download_filename(document: Document) -> str:
    return getattr(document, "original_filename", None) or PurePosixPath(document.file.name).name


def file_rejected_response(exc: UploadRejected) -> Response:
    return Response({"file": [exc.message], "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)


def as_field_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def _get_or_404(request, document_id: int) -> Document:
    document = document_get(owner=request.user, document_id=document_id)
    if document is None:
        raise Http404
    return document


class DocumentListCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema_serializer(component_name="DocumentCreateInput")
    class InputSerializer(serializers.Serializer):
        """Unknown fields are ignored (DRF's behaviour)."""

        file = serializers.FileField(
            allow_empty_file=True, use_url=False, help_text="PDF, DOCX, plain text or Markdown; checked by content."
        )
        title = serializers.CharField(max_length=255, required=False, allow_blank=True, help_text="Default: file name.")
        author = serializers.CharField(max_length=255, required=False, allow_blank=True)
        category = serializers.CharField(max_length=100, required=False, allow_blank=True)
        summary = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
        tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=MAX_TAGS)

        def validate_tags(self, tags: list[str]) -> list[str]:
            return list(dict.fromkeys(tags))

    @extend_schema(parameters=LIST_PARAMETERS, responses=DocumentOutputSerializer(many=True))
    def get(self, request):
        try:
            documents = document_list(owner=request.user, filters=request.query_params)
        except InvalidFilters as exc:
            raise as_field_errors(exc) from None
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(documents, request, view=self)
        data = DocumentOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=InputSerializer, responses={201: DocumentOutputSerializer})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            document = document_create(owner=request.user, **payload.validated_data)
        except UploadRejected as exc:
            return file_rejected_response(exc)
        except DjangoValidationError as exc:
            raise as_field_errors(exc) from None
        document = _get_or_404(request, document.pk)
        return Response(
            DocumentOutputSerializer(document, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class DocumentDetailApi(APIView):
    @extend_schema(responses=DocumentOutputSerializer)
    def get(self, request, document_id: int):
        document = _get_or_404(request, document_id)
        return Response(DocumentOutputSerializer(document, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, document_id: int):
        document_delete(document=_get_or_404(request, document_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentDownloadApi(StreamedResponseApiMixin, APIView):
    @extend_schema(
        operation_id="documents_download",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such document of yours, or its stored file is missing."),
            409: OpenApiResponse(description="The file is not in permanent storage yet."),
            503: OpenApiResponse(description="The storage holding the file is unavailable."),
        },
    )
    def get(self, request, document_id: int):
        document = _get_or_404(request, document_id)
        if not document.file.name:
            return Response(
                {"detail": f"The file is not stored yet (upload status: {document.upload_status or 'none'})."},
                status=status.HTTP_409_CONFLICT,
            )
        try:
            return stored_file_response(
                document.file,
                filename=download_filename(document),
                content_type=document.content_type,
                as_attachment=True,
            )
        except StorageUnavailable:
            return storage_unavailable_response()
