"""Tracked uploads over the API: a client sends a file and follows it to permanent storage."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser

from core.api import owned
from core.api.schema import UPLOAD_REFUSALS
from uploads import kinds
from uploads.models import UploadKind, UploadStatus, UploadTracking
from uploads.selectors import upload_get, upload_list
from uploads.services.uploads import upload_create
from uploads.validation import UploadRejected


class UploadOutputSerializer(serializers.ModelSerializer):
    # Where the file lives now (the location record, uploads.selectors.with_stored_backend), not where
    # promotion first put it.
    permanent_backend = serializers.SerializerMethodField()

    def get_permanent_backend(self, upload: UploadTracking) -> str:
        return getattr(upload, "stored_backend", None) or upload.permanent_backend

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


def _input_serializer() -> type[serializers.Serializer]:
    """The upload form: a file, its kind and, optionally, the id of the row it is for (one field per kind).

    Built from the registered kinds (uploads.kinds), which the domain apps register as they load,
    before any URL module (and so this one) is imported. Kind `file` is storage_manager's, not the API's.
    """
    owned_kinds = [spec for spec in kinds.registered() if spec.target_field]
    fields: dict[str, serializers.Field] = {
        "file": serializers.FileField(allow_empty_file=True, use_url=False),
        "kind": serializers.ChoiceField(choices=[(spec.name, UploadKind(spec.name).label) for spec in owned_kinds]),
    }
    for spec in owned_kinds:
        label = spec.target_model._meta.verbose_name
        fields[spec.target_field] = serializers.IntegerField(
            required=False, min_value=1, help_text=f"The {label} a {spec.name} is for; a new one is created without it."
        )
    return type("UploadCreateInputSerializer", (serializers.Serializer,), fields)


UploadCreateInputSerializer = _input_serializer()


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
    post=extend_schema(request=UploadCreateInputSerializer, responses={202: UploadOutputSerializer, **UPLOAD_REFUSALS}),
)
class UploadListCreateApi(owned.ListMixin, owned.CreateMixin, UploadApi):
    parser_classes = [MultiPartParser]
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
        targets = {field: spec for field, spec in kinds.by_target_field().items() if field in data}
        if len(targets) > 1:
            raise serializers.ValidationError({"target": ["An upload is for one row at most."]})
        target = None
        for field, spec in targets.items():
            target = spec.target_model.objects.filter(owner=owner, pk=data[field]).first()
            if target is None:
                raise serializers.ValidationError({field: [f"No such {spec.target_model._meta.verbose_name}."]})
        return upload_create(owner=owner, file=data["file"], kind=data["kind"], target=target)


@extend_schema_view(get=extend_schema(responses=UploadOutputSerializer))
class UploadDetailApi(owned.RetrieveMixin, UploadApi):
    pass
