"""An item's photo and thumbnail, streamed from whichever backend holds them, to their owner only."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view

from core.api import owned
from core.api.schema import RETRY_AFTER, unavailable
from inventory.api.items import InventoryItemApi
from inventory.models import InventoryItem
from storage_app.responses import StreamedResponseApiMixin, stored_file_response

FILE_RESPONSES = {
    (200, "image/*"): OpenApiTypes.BINARY,
    404: OpenApiResponse(description="No such item of yours, or no file stored yet."),
    503: unavailable("The storage holding the file"),
}


class _InventoryItemFileApi(StreamedResponseApiMixin, owned.FileMixin, InventoryItemApi):
    field: str

    def file_response(self, item: InventoryItem) -> FileResponse:
        return stored_file_response(getattr(item, self.field))


@extend_schema_view(
    get=extend_schema(operation_id="inventory_image_retrieve", parameters=[RETRY_AFTER], responses=FILE_RESPONSES)
)
class InventoryItemImageApi(_InventoryItemFileApi):
    field = "image"


@extend_schema_view(
    get=extend_schema(operation_id="inventory_thumbnail_retrieve", parameters=[RETRY_AFTER], responses=FILE_RESPONSES)
)
class InventoryItemThumbnailApi(_InventoryItemFileApi):
    field = "thumbnail"
