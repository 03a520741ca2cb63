import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from inventory.models import InventoryItem
from tests.uploads.files import image_bytes


@pytest.fixture
def stored_item(user):
    """An item whose photo and thumbnail are already in the default storage (no pipeline run)."""
    item = InventoryItem.objects.create(owner=user, name="Stored stool")
    item.image.name = default_storage.save(f"inventory/{user.pk}/1/stool.png", ContentFile(image_bytes("PNG")))
    item.thumbnail.name = default_storage.save(
        f"inventory/{user.pk}/1/thumbnail.jpg", ContentFile(image_bytes("JPEG", (300, 225)))
    )
    item.save()
    return item
