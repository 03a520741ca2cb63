"""Reads of the inventory: what one user may see of their items."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery

from inventory.filters import InventoryItemFilter
from inventory.models import InventoryItem
from storage_app.models import UploadTracking


class InvalidFilters(ValidationError):
    """Query-string filters that do not validate; `message_dict` names each field and what is wrong."""


def _with_upload_status(items: QuerySet[InventoryItem]) -> QuerySet[InventoryItem]:
    # The newest upload decides the status shown: one subquery, so a page costs the same whatever its size.
    latest = UploadTracking.objects.filter(inventory_item=OuterRef("pk")).order_by("-created_at", "-id")
    return items.annotate(upload_status=Subquery(latest.values("status")[:1]))


def inventory_item_list(*, owner, filters: Mapping | None = None) -> QuerySet[InventoryItem]:
    """The owner's items, filtered by `filters` (category, search, ordering); InvalidFilters on bad values."""
    items = _with_upload_status(InventoryItem.objects.filter(owner=owner).order_by("-created_at", "-id"))
    filterset = InventoryItemFilter(data=filters or {}, queryset=items)
    if not filterset.is_valid():
        raise InvalidFilters({field: list(errors) for field, errors in filterset.errors.items()})
    return filterset.qs


def inventory_item_get(*, owner, item_id: int) -> InventoryItem | None:
    return _with_upload_status(InventoryItem.objects.filter(owner=owner, pk=item_id)).first()
