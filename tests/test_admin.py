"""Every model's admin changelist and add page renders for a staff user."""

import pytest
from django.urls import reverse
from model_bakery import baker

ADMIN_MODELS = [
    ("inventory", "inventoryitem"),
    ("documents", "document"),
    ("documents", "documentvector"),
    ("uploads", "uploadtracking"),
]


@pytest.fixture
def some_rows(staff_user):
    baker.make("inventory.InventoryItem", owner=staff_user, name="Beaded fan", category="Fans")
    baker.make("documents.Document", owner=staff_user, title="Supplier contract", checksum="")
    baker.make("uploads.UploadTracking", owner=staff_user, kind="image", status="pending", size=1, checksum="0" * 64)


@pytest.mark.django_db
@pytest.mark.parametrize(("app", "model"), ADMIN_MODELS)
def test_changelist_renders_with_search_and_filters(staff_client, some_rows, app, model):
    url = reverse(f"admin:{app}_{model}_changelist")
    response = staff_client.get(url)
    assert response.status_code == 200
    response = staff_client.get(url, {"q": "fan"})
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("app", "model"), [m for m in ADMIN_MODELS if m != ("uploads", "uploadtracking")])
def test_add_page_renders(staff_client, app, model):
    response = staff_client.get(reverse(f"admin:{app}_{model}_add"))
    assert response.status_code == 200


@pytest.mark.django_db
def test_inventory_changelist_shows_items(staff_client, some_rows):
    response = staff_client.get(reverse("admin:inventory_inventoryitem_changelist"), {"category": "Fans"})
    assert b"Beaded fan" in response.content


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("admin:inventory_inventoryitem_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
