"""Inventory items over the API: list, create (optionally with a photo), retrieve, update, delete."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from inventory.filters import ORDERING_FIELDS
from inventory.models import InventoryItem
from inventory.selectors import InvalidFilters, inventory_item_get, inventory_item_list
from inventory.services import inventory_item_create, inventory_item_delete, inventory_item_update
from storage_app.models import UploadStatus
from storage_app.validation import UploadRejected

MAX_TAGS = 30

LIST_PARAMETERS = [
    OpenApiParameter("category", str, description="Exact category."),
    OpenApiParameter(
        "search", str, description="Text in the name, description, material, color or tags (case-insensitive)."
    ),
    OpenApiParameter(
        "ordering",
        str,
        many=True,
        explode=False,
        description="Comma-separated fields, `-` for descending: " + ", ".join(ORDERING_FIELDS) + ".",
        enum=[*ORDERING_FIELDS, *(f"-{field}" for field in ORDERING_FIELDS)],
    ),
]


class InventoryItemOutputSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField(help_text="Streams the photo (owner only); null until stored.")
    thumbnail_url = serializers.SerializerMethodField(help_text="Streams the ~300x300 JPEG thumbnail.")
    upload_status = serializers.ChoiceField(
        choices=UploadStatus.choices, read_only=True, allow_null=True, help_text="Status of the newest photo upload."
    )

    class Meta:
        model = InventoryItem
        fields = [
            "id",
            "name",
            "description",
            "category",
            "material",
            "color",
            "dimensions",
            "origin_source",
            "import_cost",
            "retail_price",
            "tags",
            "image_url",
            "thumbnail_url",
            "upload_status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _url(self, item: InventoryItem, field: str, route: str) -> str | None:
        if not getattr(item, field).name:
            return None
        path = reverse(route, args=[item.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_image_url(self, item: InventoryItem) -> str | None:
        return self._url(item, "image", "inventory-item-image")

    def get_thumbnail_url(self, item: InventoryItem) -> str | None:
        return self._url(item, "thumbnail", "inventory-item-thumbnail")


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


def image_rejected_response(exc: UploadRejected) -> Response:
    return Response({"image": [exc.message], "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)


def as_field_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def _get_or_404(request, item_id: int) -> InventoryItem:
    item = inventory_item_get(owner=request.user, item_id=item_id)
    if item is None:
        raise Http404
    return item


class InventoryItemListCreateApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(parameters=LIST_PARAMETERS, responses=InventoryItemOutputSerializer(many=True))
    def get(self, request):
        try:
            items = inventory_item_list(owner=request.user, filters=request.query_params)
        except InvalidFilters as exc:
            raise as_field_errors(exc) from None
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(items, request, view=self)
        data = InventoryItemOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=InventoryItemInputSerializer, responses={201: InventoryItemOutputSerializer})
    def post(self, request):
        payload = InventoryItemInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        image = fields.pop("image", None)
        try:
            item = inventory_item_create(owner=request.user, image=image, **fields)
        except UploadRejected as exc:
            return image_rejected_response(exc)
        except DjangoValidationError as exc:
            raise as_field_errors(exc) from None
        item = _get_or_404(request, item.pk)
        return Response(
            InventoryItemOutputSerializer(item, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class InventoryItemDetailApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=InventoryItemOutputSerializer)
    def get(self, request, item_id: int):
        item = _get_or_404(request, item_id)
        return Response(InventoryItemOutputSerializer(item, context={"request": request}).data)

    @extend_schema(request=InventoryItemInputSerializer(partial=True), responses=InventoryItemOutputSerializer)
    def patch(self, request, item_id: int):
        item = _get_or_404(request, item_id)
        payload = InventoryItemInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        image = fields.pop("image", None)
        try:
            inventory_item_update(item=item, image=image, **fields)
        except UploadRejected as exc:
            return image_rejected_response(exc)
        except DjangoValidationError as exc:
            raise as_field_errors(exc) from None
        item = _get_or_404(request, item_id)
        return Response(InventoryItemOutputSerializer(item, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, item_id: int):
        inventory_item_delete(item=_get_or_404(request, item_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
