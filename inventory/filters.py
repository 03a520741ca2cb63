"""Query-string filters of the inventory list and export: category, text search, ordering."""

from __future__ import annotations

from core.filters import OwnedRowsFilter, StableOrderingFilter
from inventory.models import InventoryItem

ORDERING_FIELDS = ("name", "created_at", "retail_price", "import_cost")


class InventoryItemFilter(OwnedRowsFilter):
    search_fields = ("name", "description", "material", "color")
    ordering = StableOrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = InventoryItem
        fields = ["category", "search", "ordering"]
