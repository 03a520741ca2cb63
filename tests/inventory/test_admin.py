"""Staff manage items in the admin: photos go through the tracked pipeline, thumbnails show in the list."""

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import InventoryItem
from tests.uploads.files import PDF_BYTES, image_bytes, uploaded
from uploads.models import UploadTracking

ADD = reverse("admin:inventory_inventoryitem_add")
CHANGELIST = reverse("admin:inventory_inventoryitem_changelist")


def add(staff_client, owner, **extra):
    data = {"owner": owner.pk, "name": "Beaded fan", "category": "Fans", "tags": "beaded,fan", **extra}
    return staff_client.post(ADD, data)


@pytest.mark.django_db(transaction=True)
def test_adding_an_item_with_a_photo_tracks_it_and_shows_its_thumbnail(staff_client, staff_user):
    photo = image_bytes("PNG", (900, 600))
    response = add(staff_client, staff_user, photo=uploaded("fan.png", photo))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    item = InventoryItem.objects.get()
    assert item.tags == ["beaded", "fan"]
    upload = UploadTracking.objects.get(inventory_item=item)
    assert upload.status == "complete"
    assert upload.owner == staff_user
    assert default_storage.exists(item.image.name)
    assert default_storage.exists(item.thumbnail.name)

    page = staff_client.get(CHANGELIST).content.decode()
    thumbnail_url = reverse("admin:inventory_inventoryitem_thumbnail", args=[item.pk])
    assert f'src="{thumbnail_url}"' in page
    thumbnail = staff_client.get(thumbnail_url)
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"] == "image/jpeg"
    image = staff_client.get(reverse("admin:inventory_inventoryitem_image", args=[item.pk]))
    assert b"".join(image.streaming_content) == photo
    assert "complete" in page


@pytest.mark.django_db(transaction=True)
def test_a_refused_photo_is_a_form_error_and_saves_nothing(staff_client, staff_user, settings):
    response = add(staff_client, staff_user, photo=uploaded("fan.png", PDF_BYTES))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "not an accepted image" in errors["photo"][0]
    assert InventoryItem.objects.count() == 0
    assert UploadTracking.objects.count() == 0
    leftovers = [p for root in (settings.TEMP_UPLOAD_ROOT, settings.LOCAL_STORAGE_ROOT) for p in root.rglob("*")]
    assert [p for p in leftovers if p.is_file()] == []


@pytest.mark.django_db(transaction=True)
def test_changing_the_photo_replaces_the_old_files(staff_client, staff_user):
    add(staff_client, staff_user, photo=uploaded("one.png", image_bytes("PNG")))
    item = InventoryItem.objects.get()
    old = [item.image.name, item.thumbnail.name]
    change = reverse("admin:inventory_inventoryitem_change", args=[item.pk])
    response = staff_client.post(
        change, {"owner": staff_user.pk, "name": "Renamed", "tags": "", "photo": uploaded("two.jpg", image_bytes())}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.name == "Renamed"
    assert item.image.name.endswith("/two.jpg")
    assert all(not default_storage.exists(name) for name in old)


@pytest.mark.django_db(transaction=True)
def test_deleting_in_the_admin_removes_the_files(staff_client, staff_user):
    add(staff_client, staff_user, photo=uploaded("one.png", image_bytes("PNG")))
    item = InventoryItem.objects.get()
    names = [item.image.name, item.thumbnail.name]
    response = staff_client.post(reverse("admin:inventory_inventoryitem_delete", args=[item.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not InventoryItem.objects.exists()
    assert all(not default_storage.exists(name) for name in names)


@pytest.mark.django_db(transaction=True)
def test_bulk_delete_action_removes_the_files(staff_client, staff_user):
    for name in ("a.png", "b.png"):
        add(staff_client, staff_user, photo=uploaded(name, image_bytes("PNG")))
    names = [n for item in InventoryItem.objects.all() for n in (item.image.name, item.thumbnail.name)]
    response = staff_client.post(
        CHANGELIST,
        {
            "action": "delete_selected",
            "_selected_action": list(InventoryItem.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not InventoryItem.objects.exists()
    assert all(not default_storage.exists(name) for name in names)


@pytest.mark.django_db
def test_add_form_defaults_the_owner_to_the_staff_member(staff_client, staff_user):
    form = staff_client.get(ADD).context["adminform"].form
    assert form.initial["owner"] == staff_user.pk
    assert "photo" in form.fields
    assert "image" not in form.fields  # the model field is never written directly


@pytest.mark.django_db
def test_changelist_runs_the_same_queries_for_few_and_many_items(staff_client, staff_user, django_assert_num_queries):
    InventoryItem.objects.bulk_create([InventoryItem(owner=staff_user, name=f"item {i}") for i in range(3)])
    staff_client.get(CHANGELIST)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(CHANGELIST)
    InventoryItem.objects.bulk_create([InventoryItem(owner=staff_user, name=f"more {i}") for i in range(60)])
    with django_assert_num_queries(len(few)):
        staff_client.get(CHANGELIST)


@pytest.mark.django_db
def test_file_views_are_for_staff_only(client, user, staff_user):
    item = InventoryItem.objects.create(owner=user, name="x")
    url = reverse("admin:inventory_inventoryitem_thumbnail", args=[item.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    client.force_login(user)  # a client, not staff
    assert client.get(url).status_code == 302
    client.force_login(staff_user)
    assert client.get(url).status_code == 404  # no thumbnail yet
    assert client.get(reverse("admin:inventory_inventoryitem_thumbnail", args=[999999])).status_code == 404
