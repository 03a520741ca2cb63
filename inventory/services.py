"""Writes of the inventory: creating, changing and deleting items, their photos through the tracked pipeline."""

from __future__ import annotations

from django.db import transaction

from inventory.models import EDITABLE_FIELDS, InventoryItem
from uploads.models import UploadKind
from uploads.services.deletion import files_delete_on_commit
from uploads.services.uploads import upload_create


def _check_fields(fields: dict) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable inventory fields: {', '.join(sorted(unknown))}")


@transaction.atomic
def inventory_item_create(*, owner, image=None, **fields) -> InventoryItem:
    """Create an item and, with `image`, track its photo; a refused photo leaves no item behind.

    The photo's promotion (permanent store and thumbnail) is queued for after the commit, so the
    item's `image` and `thumbnail` are set once the upload completes.
    """
    _check_fields(fields)
    item = InventoryItem(owner=owner, **fields)
    item.full_clean(exclude=["owner", "image", "thumbnail"])
    item.save()
    if image is not None:
        upload_create(owner=owner, file=image, kind=UploadKind.IMAGE, target=item)
    return item


@transaction.atomic
def inventory_item_update(*, item: InventoryItem, image=None, **fields) -> InventoryItem:
    """Change an item's fields and, with `image`, replace its photo (the old files go once the new one is stored)."""
    _check_fields(fields)
    for name, value in fields.items():
        setattr(item, name, value)
    if fields:
        item.full_clean(exclude=["owner", "image", "thumbnail"])
        item.save(update_fields=[*fields, "updated_at"])
    if image is not None:
        upload_create(owner=item.owner, file=image, kind=UploadKind.IMAGE, target=item)
    return item


@transaction.atomic
def inventory_item_delete(*, item: InventoryItem) -> None:
    """Delete the item; its photo and thumbnail are removed after the commit (a failed delete is retried)."""
    names = [item.image.name, item.thumbnail.name]
    item.delete()
    files_delete_on_commit(names)
