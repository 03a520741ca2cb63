"""The inventory item endpoints: per-user, validated, paginated, with photos through the tracked pipeline."""

import io
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inventory.models import InventoryItem
from storage_app.models import StoredFile
from tests.uploads.files import PDF_BYTES, image_bytes, uploaded
from uploads.models import UploadTracking

LIST = reverse("inventory-item-list")


def detail(item_id):
    return reverse("inventory-item-detail", args=[item_id])


# --- create ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_without_a_photo(api, user):
    payload = {
        "name": "Beaded stool",
        "description": "Yoruba beadwork",
        "category": "Furniture",
        "material": "wood",
        "color": "blue",
        "import_cost": "12.50",
        "retail_price": "49.00",
        "tags": ["beaded", "handmade", "beaded"],
    }
    response = api.post(LIST, payload, format="json")
    assert response.status_code == 201, response.data
    body = response.json()
    assert body["name"] == "Beaded stool"
    assert body["retail_price"] == "49.00"
    assert body["tags"] == ["beaded", "handmade"]  # duplicates dropped
    assert body["image_url"] is None
    assert body["thumbnail_url"] is None
    assert body["upload_status"] is None
    item = InventoryItem.objects.get(pk=body["id"])
    assert item.owner == user
    assert item.import_cost == Decimal("12.50")


@pytest.mark.django_db(transaction=True)
def test_create_with_a_photo_stores_it_and_a_thumbnail(api, user):
    photo = image_bytes("JPEG", (1200, 800))
    response = api.post(LIST, {"name": "Fan", "image": uploaded("fan.jpg", photo), "tags": ["a", "b"]})
    assert response.status_code == 201, response.data
    body = response.json()
    assert body["upload_status"] == "complete"  # tasks run in-process after commit on the embedded defaults
    assert body["tags"] == ["a", "b"]
    assert body["image_url"] == f"http://testserver/api/inventory/{body['id']}/image"
    assert body["thumbnail_url"] == f"http://testserver/api/inventory/{body['id']}/thumbnail"
    item = InventoryItem.objects.get(pk=body["id"])
    assert default_storage.exists(item.image.name)
    assert default_storage.exists(item.thumbnail.name)
    upload = UploadTracking.objects.get(inventory_item=item)
    assert upload.owner == user

    image = api.get(body["image_url"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert b"".join(image.streaming_content) == photo
    thumb = api.get(body["thumbnail_url"])
    with Image.open(io.BytesIO(b"".join(thumb.streaming_content))) as picture:
        assert picture.format == "JPEG"
        assert max(picture.size) == 300


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "data", "phrase", "status"),
    [
        ("photo.jpg", PDF_BYTES, "not an accepted image", 415),
        ("empty.jpg", b"", "empty", 400),
        ("broken.png", image_bytes("PNG")[:60], "cannot be read", 400),
    ],
)
def test_a_refused_photo_leaves_no_item(api, name, data, phrase, status):
    response = api.post(LIST, {"name": "Fan", "image": uploaded(name, data)})
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"image", "code"}  # the field, and a code a client can act on
    assert phrase in body["image"][0]
    assert InventoryItem.objects.count() == 0
    assert UploadTracking.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 10_000}, "name"),
        ({"name": "nul\x00byte"}, "name"),
        ({"name": "a", "retail_price": "-0.01"}, "retail_price"),
        ({"name": "a", "import_cost": "abc"}, "import_cost"),
        ({"name": "a", "retail_price": "1.234"}, "retail_price"),
        ({"name": "a", "retail_price": "1" * 13}, "retail_price"),
        ({"name": "a", "tags": "not-a-list"}, "tags"),
        ({"name": "a", "tags": ["x" * 51]}, "tags"),
        ({"name": "a", "tags": [""]}, "tags"),
        ({"name": "a", "tags": [["nested"]]}, "tags"),
        ({"name": "a", "tags": [f"t{i}" for i in range(31)]}, "tags"),
        ({"name": "a", "category": "c" * 101}, "category"),
        ({"name": ["a", "b"]}, "name"),
    ],
)
def test_invalid_payload_gets_field_errors_and_creates_nothing(api, payload, field):
    response = api.post(LIST, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert InventoryItem.objects.count() == 0


@pytest.mark.django_db
def test_unknown_and_read_only_fields_are_ignored(api, user, other_user):
    response = api.post(LIST, {"name": "Mine", "owner": other_user.pk, "id": 999, "surprise": 1}, format="json")
    assert response.status_code == 201
    item = InventoryItem.objects.get()
    assert item.owner == user
    assert response.json()["id"] == item.pk
    assert "surprise" not in response.json()
    assert "owner" not in response.json()


@pytest.mark.django_db(transaction=True)
def test_hostile_photo_names_are_cleaned(api):
    response = api.post(LIST, {"name": "Bowl", "image": uploaded("../../../etc/passwd.png", image_bytes("PNG"))})
    assert response.status_code == 201
    item = InventoryItem.objects.get()
    assert ".." not in item.image.name
    assert item.image.name.endswith("/passwd.png")


# --- list --------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(user, other_user):
    rows = [
        ("Beaded stool", "Furniture", "wood", "blue", Decimal("49.00"), ["beaded", "handmade"], "Yoruba"),
        ("Raffia basket", "Baskets", "raffia", "natural", Decimal("15.00"), ["woven"], ""),
        ("Brass bowl", "Tableware", "brass", "gold", None, [], "Hammered by hand"),
        ("Indigo cloth", "Textiles", "cotton", "Indigo", Decimal("80.00"), ["adire"], ""),
    ]
    items = [
        InventoryItem.objects.create(
            owner=user, name=n, category=c, material=m, color=col, retail_price=p, tags=t, description=d
        )
        for n, c, m, col, p, t, d in rows
    ]
    InventoryItem.objects.create(owner=other_user, name="Beaded crown", category="Furniture", tags=["beaded"])
    return items


def names(response):
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_list_shows_only_own_items_newest_first(api, catalogue):
    response = api.get(LIST)
    assert response.status_code == 200
    assert response.json()["count"] == 4
    assert names(response) == ["Indigo cloth", "Brass bowl", "Raffia basket", "Beaded stool"]


@pytest.mark.django_db
def test_list_pages(api, catalogue):
    first = api.get(LIST, {"page_size": 3}).json()
    assert first["count"] == 4
    assert len(first["results"]) == 3
    assert first["previous"] is None
    second = APIClient.get(api, first["next"]).json()
    assert len(second["results"]) == 1
    seen = {r["id"] for r in first["results"]} | {r["id"] for r in second["results"]}
    assert seen == {item.pk for item in catalogue}
    assert api.get(LIST, {"page": 99}).json()["results"] == []  # past the end: an empty page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "Furniture"}, {"Beaded stool"}),
        ({"category": "furniture"}, set()),  # exact
        ({"search": "bead"}, {"Beaded stool"}),  # name and a partial tag, own items only
        ({"search": "ADIRE"}, {"Indigo cloth"}),  # tag, any case
        ({"search": "raffia"}, {"Raffia basket"}),  # material
        ({"search": "gold"}, {"Brass bowl"}),  # color
        ({"search": "hammered"}, {"Brass bowl"}),  # description
        ({"search": "indigo"}, {"Indigo cloth"}),
        ({"search": "nothing like it"}, set()),
        ({"search": "   "}, {"Beaded stool", "Raffia basket", "Brass bowl", "Indigo cloth"}),
        ({"search": "%"}, set()),  # LIKE wildcards are literal
        ({"category": "Furniture", "search": "woven"}, set()),
    ],
)
def test_filters(api, catalogue, params, expected):
    response = api.get(LIST, params)
    assert response.status_code == 200
    assert set(names(response)) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("name", ["Beaded stool", "Brass bowl", "Indigo cloth", "Raffia basket"]),
        ("-name", ["Raffia basket", "Indigo cloth", "Brass bowl", "Beaded stool"]),
        ("retail_price", ["Raffia basket", "Beaded stool", "Indigo cloth", "Brass bowl"]),  # no price: last
        ("-retail_price", ["Indigo cloth", "Beaded stool", "Raffia basket", "Brass bowl"]),
        ("created_at", ["Beaded stool", "Raffia basket", "Brass bowl", "Indigo cloth"]),
        ("import_cost,name", ["Beaded stool", "Brass bowl", "Indigo cloth", "Raffia basket"]),
    ],
)
def test_ordering(api, catalogue, ordering, expected):
    response = api.get(LIST, {"ordering": ordering})
    assert response.status_code == 200
    assert names(response) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "owner"}, "ordering"),
        ({"ordering": "name;drop table"}, "ordering"),
        ({"search": "x" * 201}, "search"),
        ({"search": "nul\x00"}, "search"),
        ({"category": "c" * 101}, "category"),
    ],
)
def test_invalid_filters_answer_400_with_field_errors(api, catalogue, params, field):
    response = api.get(LIST, params)
    assert response.status_code == 400
    assert field in response.json()


# --- retrieve, update, delete ------------------------------------------------------------------


@pytest.mark.django_db
def test_retrieve(api, stored_item):
    response = api.get(detail(stored_item.pk))
    assert response.status_code == 200
    assert response.json()["name"] == "Stored stool"
    assert response.json()["image_url"].endswith(f"/api/inventory/{stored_item.pk}/image")


@pytest.mark.django_db
def test_another_users_item_is_404_for_every_operation(other_api, stored_item):
    url = detail(stored_item.pk)
    assert other_api.get(url).status_code == 404
    assert other_api.patch(url, {"name": "mine now"}, format="json").status_code == 404
    assert other_api.delete(url).status_code == 404
    assert other_api.get(reverse("inventory-item-image", args=[stored_item.pk])).status_code == 404
    assert other_api.get(reverse("inventory-item-thumbnail", args=[stored_item.pk])).status_code == 404
    stored_item.refresh_from_db()
    assert stored_item.name == "Stored stool"
    assert default_storage.exists(stored_item.image.name)


@pytest.mark.django_db
def test_missing_item_is_404(api):
    assert api.get(detail(424242)).status_code == 404


@pytest.mark.django_db
def test_patch_changes_only_the_given_fields(api, stored_item):
    response = api.patch(detail(stored_item.pk), {"retail_price": "10.00", "tags": ["sale"]}, format="json")
    assert response.status_code == 200, response.data
    stored_item.refresh_from_db()
    assert stored_item.retail_price == Decimal("10.00")
    assert stored_item.tags == ["sale"]
    assert stored_item.name == "Stored stool"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [({"name": ""}, "name"), ({"retail_price": "-5"}, "retail_price"), ({"tags": None}, "tags")],
)
def test_invalid_patch_is_400_and_changes_nothing(api, stored_item, payload, field):
    response = api.patch(detail(stored_item.pk), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    stored_item.refresh_from_db()
    assert stored_item.name == "Stored stool"
    assert stored_item.retail_price is None


@pytest.mark.django_db
def test_put_is_not_offered(api, stored_item):
    assert api.put(detail(stored_item.pk), {"name": "x"}, format="json").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_patch_with_a_photo_replaces_it_and_removes_the_old_files(api, stored_item):
    old = [stored_item.image.name, stored_item.thumbnail.name]
    response = api.patch(detail(stored_item.pk), {"image": uploaded("new.webp", image_bytes("WEBP"))})
    assert response.status_code == 200, response.data
    assert response.json()["upload_status"] == "complete"
    stored_item.refresh_from_db()
    assert stored_item.image.name.endswith("/new.webp")
    assert all(not default_storage.exists(name) for name in old)


@pytest.mark.django_db(transaction=True)
def test_patch_with_a_refused_photo_changes_nothing(api, stored_item):
    response = api.patch(detail(stored_item.pk), {"name": "Renamed", "image": uploaded("x.png", PDF_BYTES)})
    assert response.status_code == 415  # a PDF is not an accepted image
    assert "image" in response.json()
    stored_item.refresh_from_db()
    assert stored_item.name == "Stored stool"
    assert default_storage.exists(stored_item.image.name)


@pytest.mark.django_db(transaction=True)
def test_delete_removes_the_row_and_then_its_files(api, stored_item):
    names = [stored_item.image.name, stored_item.thumbnail.name]
    response = api.delete(detail(stored_item.pk))
    assert response.status_code == 204
    assert not InventoryItem.objects.filter(pk=stored_item.pk).exists()
    assert all(not default_storage.exists(name) for name in names)
    assert api.get(detail(stored_item.pk)).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_file_that_cannot_be_deleted_is_kept_for_retry(api, user, settings):
    # A non-empty directory where the photo should be: the filesystem itself refuses the delete.
    item = InventoryItem.objects.create(owner=user, name="Stuck")
    stuck = settings.LOCAL_STORAGE_ROOT / "inventory" / "stuck"
    stuck.mkdir(parents=True)
    (stuck / "inside").write_bytes(b"x")
    # FallbackStorage finds a file through its location record: this one is said to be on the local disk.
    StoredFile.objects.create(name="inventory/stuck", backend="local", state="stored", size=1, checksum="0" * 64)
    item.image.name = "inventory/stuck"
    item.save()
    assert api.delete(detail(item.pk)).status_code == 204
    assert not InventoryItem.objects.filter(pk=item.pk).exists()
    # The record is the ledger of the delete still owed, retried on its backoff.
    pending = StoredFile.objects.get(name="inventory/stuck", state="deleting")
    assert pending.attempts == 1
    assert pending.last_error
    assert pending.next_attempt_at is not None


# --- files -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_photo_streams_even_when_the_client_asks_for_a_specific_image_type(api, stored_item):
    response = api.get(reverse("inventory-item-image", args=[stored_item.pk]), HTTP_ACCEPT="image/png")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, max-age=0"
    assert b"".join(response.streaming_content) == image_bytes("PNG")


@pytest.mark.django_db
def test_no_photo_yet_or_a_lost_file_is_404(api, user, stored_item):
    bare = InventoryItem.objects.create(owner=user, name="No photo")
    assert api.get(reverse("inventory-item-image", args=[bare.pk])).status_code == 404
    default_storage.delete(stored_item.thumbnail.name)
    assert api.get(reverse("inventory-item-thumbnail", args=[stored_item.pk])).status_code == 404


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_is_refused_everywhere(stored_item):
    anonymous = APIClient()
    urls = [
        LIST,
        detail(stored_item.pk),
        reverse("inventory-item-image", args=[stored_item.pk]),
        reverse("inventory-item-thumbnail", args=[stored_item.pk]),
        reverse("inventory-export"),
    ]
    for url in urls:
        assert anonymous.get(url).status_code in {401, 403}, url
    assert anonymous.post(LIST, {"name": "x"}, format="json").status_code in {401, 403}
    assert anonymous.patch(detail(stored_item.pk), {"name": "x"}, format="json").status_code in {401, 403}
    assert anonymous.delete(detail(stored_item.pk)).status_code in {401, 403}
    assert InventoryItem.objects.filter(pk=stored_item.pk, name="Stored stool").exists()


@pytest.mark.django_db
def test_token_and_session_authentication(user, stored_item, client):
    token = Token.objects.create(user=user)
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert by_token.get(LIST).json()["count"] == 1
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bad_token.get(LIST).status_code == 401
    client.force_login(user)
    assert client.get(LIST).json()["count"] == 1
