"""The inventory's upload kind: a product photo, stored with a thumbnail, owned by an item."""

from __future__ import annotations

from inventory.models import InventoryItem
from uploads.kinds import UploadKindSpec
from uploads.models import UploadKind


def item_for_photo(*, owner, title: str, content_type: str, size: int) -> InventoryItem:
    """A photo sent without an item creates an item named after the file."""
    return InventoryItem.objects.create(owner=owner, name=title)


def photo_attach(item: InventoryItem, upload, stored_name: str, thumbnail: str) -> list[str]:
    """The stored photo and thumbnail become the item's; the files it had before are returned for deletion."""
    orphaned = [
        name for name in (item.image.name, item.thumbnail.name) if name and name not in (stored_name, thumbnail)
    ]
    item.image.name = stored_name
    item.thumbnail.name = thumbnail
    item.save(update_fields=["image", "thumbnail", "updated_at"])
    return orphaned


def photo_names():
    for image, thumbnail in InventoryItem.objects.values_list("image", "thumbnail").iterator():
        yield image
        yield thumbnail


PHOTO = UploadKindSpec(
    name=UploadKind.IMAGE,
    folder="inventory",
    content_class="image",
    target_field="inventory_item",
    create_target=item_for_photo,
    attach=photo_attach,
    stored_names=photo_names,
    thumbnail=True,
)
