"""Tracked uploads over the API: a client sends a file and follows it to permanent storage."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser

from core.api import owned
from documents.selectors.documents import document_get
from inventory.selectors import inventory_item_get
from uploads.models import UploadKind, UploadStatus, UploadTracking
from uploads.selectors import upload_get, upload_list
from uploads.services.uploads import upload_create
from uploads.validation import UploadRejected


class UploadOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = UploadTracking
        fields = [
            "id",
            "original_filename",
            "content_type",
            "size",
            "checksum",
            "kind",
            "status",
            "attempts",
            "last_error",
            "permanent_backend",
            "inventory_item",
            "document",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields


# A refused upload is reported under the field it is about; the file itself otherwise.
REJECTED_FIELDS = {"invalid_filename": "filename", "invalid_kind": "kind", "invalid_target": "target"}


class UploadCreateInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    # Kind `file` is storage_manager's (no item or document); the API takes photos and documents.
    kind = serializers.ChoiceField(choices=[(UploadKind.IMAGE, "Image"), (UploadKind.DOCUMENT, "Document")])
    inventory_item = serializers.IntegerField(required=False, min_value=1)
    document = serializers.IntegerField(required=False, min_value=1)


class UploadApi(owned.BaseApi):
    select_one = staticmethod(upload_get)
    lookup_kwarg = "upload_id"
    output_serializer_class = UploadOutputSerializer

    def rejected_field(self, exc: UploadRejected) -> str:
        return REJECTED_FIELDS.get(exc.code, "file")


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("status", enum=UploadStatus.values, required=False)],
        responses=UploadOutputSerializer(many=True),
    ),
    post=extend_schema(request=UploadCreateInputSerializer, responses={202: UploadOutputSerializer}),
)
class UploadListCreateApi(owned.ListMixin, owned.CreateMixin, UploadApi):
    parser_classes = [MultiPartParser, FormParser]
    input_serializer_class = UploadCreateInputSerializer
    created_status = status.HTTP_202_ACCEPTED

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=UploadStatus.choices, required=False)

    def list_rows(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return upload_list(owner=request.user, status=filters.validated_data.get("status"))

    def create(self, data: dict) -> UploadTracking:
        owner = self.request.user
        item = document = None
        if "inventory_item" in data:
            item = inventory_item_get(owner=owner, item_id=data["inventory_item"])
            if item is None:
                raise serializers.ValidationError({"inventory_item": ["No such inventory item."]})
        if "document" in data:
            document = document_get(owner=owner, document_id=data["document"])
            if document is None:
                raise serializers.ValidationError({"document": ["No such document."]})
        return upload_create(owner=owner, file=data["file"], kind=data["kind"], inventory_item=item, document=document)


@extend_schema_view(get=extend_schema(responses=UploadOutputSerializer))
class UploadDetailApi(owned.RetrieveMixin, UploadApi):
    pass
