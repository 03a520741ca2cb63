"""Staff in a real browser: log in, add an item with a photo, see its thumbnail, open the health page."""

import importlib.util

import pytest

from inventory.models import InventoryItem
from tests.browser.conftest import screenshot
from tests.uploads.files import image_bytes
from uploads.models import UploadTracking

THUMBNAIL_LOADED = """() => {
  const img = document.querySelector('img.inventory-thumbnail');
  return img !== null && img.complete && img.naturalWidth > 0;
}"""


@pytest.mark.django_db(transaction=True)
def test_staff_upload_a_photo_see_the_thumbnail_and_the_health_page(offline_page, live_server, staff_user, tmp_path):
    page = offline_page
    photo = tmp_path / "beaded-fan.jpg"
    photo.write_bytes(image_bytes("JPEG", (1024, 768), "darkorange"))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", staff_user.username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("#storage-health-link").is_visible()
    screenshot(page, "admin-index.png")

    page.goto(f"{live_server.url}/admin/inventory/inventoryitem/add/")
    page.fill("#id_name", "Beaded fan")
    page.fill("#id_category", "Fans")
    page.set_input_files("#id_photo", str(photo))
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/inventory/inventoryitem/")
    assert "was added successfully" in page.locator("ul.messagelist").inner_text()

    page.wait_for_function(THUMBNAIL_LOADED, timeout=15_000)
    width = page.evaluate("() => document.querySelector('img.inventory-thumbnail').naturalWidth")
    height = page.evaluate("() => document.querySelector('img.inventory-thumbnail').naturalHeight")
    assert (width, height) == (300, 225)  # the stored thumbnail, 1024x768 scaled into 300x300
    screenshot(page, "admin-inventory-list.png")

    item = InventoryItem.objects.get(name="Beaded fan")
    assert item.owner == staff_user
    assert UploadTracking.objects.get(inventory_item=item).status == "complete"

    page.goto(f"{live_server.url}/admin/")
    page.click("#storage-health-link")
    page.wait_for_url(f"{live_server.url}/admin/storage-health/")
    assert page.locator("h1").inner_text() == "Storage health"
    assert page.locator("#storage-backends").is_visible()
    if importlib.util.find_spec("storage_app.health") is not None:
        assert page.locator("#storage-backends tr.storage-backend").count() >= 1
    else:
        assert "not installed" in page.locator("#storage-backends").inner_text()
    queue = page.locator("#upload-queue").inner_text()
    assert "Complete\t1" in queue  # the photo just uploaded
    screenshot(page, "admin-storage-health.png")
    assert page.blocked == []
