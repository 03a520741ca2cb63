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


@pytest.mark.django_db
def test_item_form_has_one_photo_field_with_a_preview_and_an_owner_autocomplete(staff_client, staff_user):
    item = baker.make(
        "inventory.InventoryItem",
        owner=staff_user,
        name="Fan",
        image="inventory/1/1/fan.png",
        thumbnail="inventory/1/1/t.jpg",
    )
    html = staff_client.get(reverse("admin:inventory_inventoryitem_change", args=[item.pk])).content.decode()
    assert html.count(">Photo:</label>") == 1
    assert "tracked-file-preview" in html
    assert reverse("admin:inventory_inventoryitem_thumbnail", args=[item.pk]) in html
    assert "inventory/1/1/fan.png" not in html  # no raw stored names
    assert "admin-autocomplete" in html  # owner is an autocomplete, not an id box
    add = staff_client.get(reverse("admin:inventory_inventoryitem_add")).content.decode()
    assert f'<option value="{staff_user.pk}" selected>{staff_user.username}</option>' in add


@pytest.mark.django_db
def test_document_form_has_one_file_field(staff_client, staff_user):
    document = baker.make("documents.Document", owner=staff_user, title="Contract", file="documents/1/1/c.pdf")
    html = staff_client.get(reverse("admin:documents_document_change", args=[document.pk])).content.decode()
    assert html.count(">File:</label>") == 1
    assert reverse("admin:documents_document_download", args=[document.pk]) in html
    assert "admin-autocomplete" in html
