"""Inventory items over the API: list, create (optionally with a photo), retrieve, update, delete."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser

from core.api import owned
from core.api.schema import UPLOAD_REFUSALS
from inventory.filters import ORDERING_FIELDS
from inventory.models import EDITABLE_FIELDS, InventoryItem
from inventory.selectors import inventory_item_get, inventory_item_list
from inventory.services import inventory_item_create, inventory_item_delete, inventory_item_update
from uploads.api.fields import upload_status_field

MAX_TAGS = 30

LIST_PARAMETERS = owned.list_parameters(
    search="Text in the name, description, material, color or tags (case-insensitive).",
    ordering_fields=ORDERING_FIELDS,
)


class InventoryItemOutputSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField(help_text="Streams the photo (owner only); null until stored.")
    thumbnail_url = serializers.SerializerMethodField(help_text="Streams the ~300x300 JPEG thumbnail.")
    upload_status = upload_status_field("Status of the newest photo upload.")

    class Meta:
        model = InventoryItem
        fields = ["id", *EDITABLE_FIELDS, "image_url", "thumbnail_url", "upload_status", "created_at", "updated_at"]
        read_only_fields = fields

    def get_image_url(self, item: InventoryItem) -> str | None:
        return owned.file_url(self, item, "image", "inventory-item-image")

    def get_thumbnail_url(self, item: InventoryItem) -> str | None:
        return owned.file_url(self, item, "thumbnail", "inventory-item-thumbnail")


class InventoryItemInputSerializer(serializers.Serializer):
    """Unknown fields are ignored (DRF's behaviour); the files and timestamps cannot be set directly."""

    name = serializers.CharField(max_length=255)
    description = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    category = serializers.CharField(max_length=100, required=False, allow_blank=True)
    material = serializers.CharField(max_length=100, required=False, allow_blank=True)
    color = serializers.CharField(max_length=100, required=False, allow_blank=True)
    dimensions = serializers.CharField(max_length=255, required=False, allow_blank=True)
    origin_source = serializers.CharField(max_length=255, required=False, allow_blank=True)
    import_cost = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    retail_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=MAX_TAGS, help_text="Short labels."
    )
    image = serializers.FileField(
        required=False,
        allow_empty_file=True,
        use_url=False,
        write_only=True,
        help_text="A JPEG, PNG, WebP or GIF photo (multipart), checked by content and stored through the pipeline.",
    )

    def validate_tags(self, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))  # duplicates dropped, order kept


class InventoryItemApi(owned.BaseApi):
    select_one = staticmethod(inventory_item_get)
    lookup_kwarg = "item_id"
    output_serializer_class = InventoryItemOutputSerializer
    file_field = "image"


@extend_schema_view(
    get=extend_schema(parameters=LIST_PARAMETERS, responses=InventoryItemOutputSerializer(many=True)),
    post=extend_schema(
        request=InventoryItemInputSerializer, responses={201: InventoryItemOutputSerializer, **UPLOAD_REFUSALS}
    ),
)
class InventoryItemListCreateApi(owned.ListMixin, owned.CreateMixin, InventoryItemApi):
    parser_classes = [JSONParser, MultiPartParser]
    input_serializer_class = InventoryItemInputSerializer

    def list_rows(self, request):
        return inventory_item_list(owner=request.user, filters=request.query_params)

    def create(self, data: dict) -> InventoryItem:
        image = data.pop("image", None)
        return inventory_item_create(owner=self.request.user, image=image, **data)


@extend_schema_view(
    get=extend_schema(responses=InventoryItemOutputSerializer), delete=extend_schema(responses={204: None})
)
class InventoryItemDetailApi(owned.RetrieveMixin, owned.DestroyMixin, InventoryItemApi):
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        request=InventoryItemInputSerializer(partial=True),
        responses={200: InventoryItemOutputSerializer, **UPLOAD_REFUSALS},
    )
    def patch(self, request, item_id: int):
        item = self.get_owned()
        payload = InventoryItemInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        image = fields.pop("image", None)
        inventory_item_update(item=item, image=image, **fields)
        return self.output(self.get_owned())

    def destroy(self, item: InventoryItem) -> None:
        inventory_item_delete(item=item)
