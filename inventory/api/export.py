"""The user's inventory as a streamed CSV download."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from inventory.api.items import LIST_PARAMETERS
from inventory.export import inventory_csv_chunks
from inventory.selectors import inventory_item_list
from storage_app.responses import StreamedResponseApiMixin


class InventoryItemExportApi(StreamedResponseApiMixin, APIView):
    @extend_schema(
        operation_id="inventory_export_csv",
        parameters=LIST_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description="Every item of the user matching the same filters as the list, as CSV, streamed.",
    )
    def get(self, request):
        # Invalid filters (a Django ValidationError) are the exception handler's: a 400 naming them.
        items = inventory_item_list(owner=request.user, filters=request.query_params)
        response = StreamingHttpResponse(inventory_csv_chunks(items), content_type="text/csv; charset=utf-8")
        filename = f"inventory-{timezone.now():%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, max-age=0"
        return response
