"""An item's photo and thumbnail, streamed from whichever backend holds them, to their owner only."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from inventory.selectors import inventory_item_get
from storage_app.exceptions import StorageUnavailable
from storage_app.file_responses import StreamedResponseApiMixin, storage_unavailable_response, stored_file_response

FILE_RESPONSES = {
    (200, "image/*"): OpenApiTypes.BINARY,
    404: OpenApiResponse(description="No such item of yours, or no file stored yet."),
    503: OpenApiResponse(description="The storage holding the file is unavailable."),
}


class _InventoryItemFileApi(StreamedResponseApiMixin, APIView):
    field: str

    def get(self, request, item_id: int):
        item = inventory_item_get(owner=request.user, item_id=item_id)
        if item is None:
            raise Http404
        try:
            return stored_file_response(getattr(item, self.field))
        except StorageUnavailable:
            return storage_unavailable_response()


class InventoryItemImageApi(_InventoryItemFileApi):
    field = "image"

    @extend_schema(operation_id="inventory_image_retrieve", responses=FILE_RESPONSES)
    def get(self, request, item_id: int):
        return super().get(request, item_id)


class InventoryItemThumbnailApi(_InventoryItemFileApi):
    field = "thumbnail"

    @extend_schema(operation_id="inventory_thumbnail_retrieve", responses=FILE_RESPONSES)
    def get(self, request, item_id: int):
        return super().get(request, item_id)
