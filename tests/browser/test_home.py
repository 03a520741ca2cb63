"""People in a real browser: sign in on /, see their items, open a photo and its thumbnail, search;
staff: the upload tracking list at 1280 px with every column in view, and the health page."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from inventory.models import InventoryItem
from inventory.services import inventory_item_create
from tests.browser.conftest import screenshot
from tests.uploads.files import image_bytes
from uploads.models import UploadTracking

PASSWORD = "a-long-browser-password"
IMAGES_LOADED = """() => {
  const imgs = [...document.querySelectorAll('tr.item img.thumb')];
  return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth > 0);
}"""


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/")
    page.wait_for_url(f"{live_server.url}/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.mark.django_db(transaction=True)
def test_sign_in_see_items_open_photo_and_thumbnail_and_search(offline_page, live_server, django_user_model):
    user = django_user_model.objects.create_user(username="dana", password=PASSWORD)
    inventory_item_create(
        owner=user,
        name="Teak bowl",
        category="Bowls",
        image=ContentFile(image_bytes("PNG", (640, 480), "sienna"), "teak.png"),
    )
    InventoryItem.objects.create(owner=user, name="Beaded stool", category="Stools")
    assert UploadTracking.objects.get(inventory_item__name="Teak bowl").status == "complete"

    page = offline_page
    sign_in(page, live_server, "dana")
    assert page.locator("h1").inner_text() == "Your inventory"
    assert page.locator("nav >> text=Admin").count() == 0  # not staff
    rows = page.locator("tr.item")
    assert rows.count() == 2
    page.wait_for_function(IMAGES_LOADED, timeout=15_000)
    screenshot(page, "home.png")

    photo_href = page.locator("tr.item a.photo-link").first.get_attribute("href")
    thumbnail_src = page.locator("tr.item img.thumb").first.get_attribute("src")
    for url in (photo_href, thumbnail_src):
        response = page.request.get(f"{live_server.url}{url}")
        assert response.status == 200, url
        assert response.headers["content-type"].startswith("image/"), response.headers
        assert len(response.body()) > 100
    page.goto(f"{live_server.url}{photo_href}")
    assert page.evaluate("() => document.querySelector('img').naturalWidth") == 640

    page.goto(f"{live_server.url}/")
    page.fill("input[name=q]", "teak")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(f"{live_server.url}/?q=teak")
    assert page.locator("tr.item").count() == 1
    assert "Teak bowl" in page.locator("tr.item").inner_text()
    screenshot(page, "home-search.png")
    assert page.blocked == []


@pytest.mark.django_db(transaction=True)
def test_staff_see_the_upload_list_at_1280_px_and_the_health_page(offline_page, live_server, django_user_model):
    staff = django_user_model.objects.create_superuser(username="erin", email="erin@example.com", password=PASSWORD)
    inventory_item_create(
        owner=staff,
        name="A very long item name for a beaded wall hanging",
        image=ContentFile(image_bytes("JPEG", (800, 600), "teal"), "a-rather-long-photo-file-name-of-a-hanging.jpg"),
    )
    page = offline_page
    sign_in(page, live_server, "erin")
    page.click("nav >> text=Admin")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/uploads/uploadtracking/")
    assert page.viewport_size["width"] == 1280
    headers = page.locator("#result_list thead th")
    assert headers.count() >= 10
    # The list must not scroll sideways inside its box, and every header must lie inside what is shown.
    frame = page.locator("#changelist .results").bounding_box()
    assert page.evaluate(
        "() => { const r = document.querySelector('#changelist .results'); return r.scrollWidth <= r.clientWidth; }"
    )
    for index in range(headers.count()):
        box = headers.nth(index).bounding_box()
        assert box is not None
        assert box["x"] >= frame["x"]
        assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, (headers.nth(index).inner_text(), box, frame)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    assert page.locator("a.addlink[href$='/uploadtracking/add/']").count() == 0
    screenshot(page, "admin-upload-tracking-1280.png")

    page.goto(f"{live_server.url}/admin/storage-health/")
    assert page.locator("h1").inner_text() == "Storage health"
    assert page.locator("#storage-backends tr.storage-backend").count() == 3
    assert page.locator("tr[data-backend=local] .storage-badge-ok").is_visible()
    assert page.locator("tr[data-backend=vercel] .storage-badge-neutral").is_visible()
    screenshot(page, "admin-storage-health-table.png")
    assert page.blocked == []
