"""Documents over the API: upload, list, retrieve, download (streamed from whichever backend holds it), delete."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import MultiPartParser

from core.api import owned
from core.api.schema import RETRY_AFTER, UPLOAD_REFUSALS, unavailable
from documents.models import FILE_FACTS, Document, ProcessingStatus
from documents.selectors.documents import ORDERING_FIELDS, document_get, document_list
from documents.services.documents import document_create, document_delete
from storage_app.responses import StreamedResponseApiMixin, stored_file_response
from uploads.api.fields import upload_status_field
from uploads.validation import DOCUMENT_TYPES

MAX_TAGS = 30

LIST_PARAMETERS = [
    OpenApiParameter("processing_status", str, enum=ProcessingStatus.values, description="Text-processing status."),
    *owned.list_parameters(
        search="Text in the title, author, summary, category or tags.", ordering_fields=ORDERING_FIELDS
    ),
]


class DocumentOutputSerializer(serializers.ModelSerializer):
    filename = serializers.SerializerMethodField(help_text="The name the file was uploaded with.")
    download_url = serializers.SerializerMethodField(help_text="Streams the file (owner only); null until stored.")
    upload_status = upload_status_field("Status of the newest upload.")

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
            *FILE_FACTS,
            "upload_status",
            "download_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_filename(self, document: Document) -> str | None:
        return download_filename(document) if document.file.name else None

    def get_download_url(self, document: Document) -> str | None:
        return owned.file_url(self, document, "file", "document-download")


class DocumentCreateInputSerializer(serializers.Serializer):
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


def download_filename(document: Document) -> str:
    return getattr(document, "original_filename", None) or PurePosixPath(document.file.name).name


class FileNotStoredYet(APIException):
    status_code = status.HTTP_409_CONFLICT


class DocumentApi(owned.BaseApi):
    select_one = staticmethod(document_get)
    lookup_kwarg = "document_id"
    output_serializer_class = DocumentOutputSerializer


@extend_schema_view(
    get=extend_schema(parameters=LIST_PARAMETERS, responses=DocumentOutputSerializer(many=True)),
    post=extend_schema(
        request=DocumentCreateInputSerializer, responses={201: DocumentOutputSerializer, **UPLOAD_REFUSALS}
    ),
)
class DocumentListCreateApi(owned.ListMixin, owned.CreateMixin, DocumentApi):
    parser_classes = [MultiPartParser]
    input_serializer_class = DocumentCreateInputSerializer

    def list_rows(self, request):
        return document_list(owner=request.user, filters=request.query_params)

    def create(self, data: dict) -> Document:
        return document_create(owner=self.request.user, **data)


@extend_schema_view(get=extend_schema(responses=DocumentOutputSerializer), delete=extend_schema(responses={204: None}))
class DocumentDetailApi(owned.RetrieveMixin, owned.DestroyMixin, DocumentApi):
    def destroy(self, document: Document) -> None:
        document_delete(document=document)


@extend_schema_view(
    get=extend_schema(
        operation_id="documents_download",
        parameters=[RETRY_AFTER],
        responses={
            # The file is served with the type its content was found to be at upload.
            **{(200, content_type): OpenApiTypes.BINARY for content_type in sorted(DOCUMENT_TYPES)},
            404: OpenApiResponse(description="No such document of yours, or its stored file is missing."),
            409: OpenApiResponse(description="The file is not in permanent storage yet."),
            503: unavailable("The storage holding the file"),
        },
    )
)
class DocumentDownloadApi(StreamedResponseApiMixin, owned.FileMixin, DocumentApi):
    def file_response(self, document: Document) -> FileResponse:
        if not document.file.name:
            status_text = document.upload_status or "none"
            raise FileNotStoredYet(f"The file is not stored yet (upload status: {status_text}).")
        return stored_file_response(
            document.file, filename=download_filename(document), content_type=document.content_type, as_attachment=True
        )
