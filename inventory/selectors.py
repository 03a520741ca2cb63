"""Reads of the inventory: what one user may see of their items."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import QuerySet

from core.filters import filtered
from inventory.filters import InventoryItemFilter
from inventory.models import InventoryItem
from uploads.selectors import with_upload_status


def inventory_item_list(*, owner, filters: Mapping | None = None) -> QuerySet[InventoryItem]:
    """The owner's items, filtered by `filters` (category, search, ordering); InvalidFilters on bad values."""
    items = InventoryItem.objects.filter(owner=owner).order_by("-created_at", "-id")
    return filtered(InventoryItemFilter, with_upload_status(items, via="inventory_item"), filters)


def inventory_item_get(*, owner, item_id: int) -> InventoryItem | None:
    return with_upload_status(InventoryItem.objects.filter(owner=owner, pk=item_id), via="inventory_item").first()
