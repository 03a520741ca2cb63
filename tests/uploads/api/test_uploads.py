import pytest
from django.urls import reverse

from documents.models import Document
from inventory.models import InventoryItem
from tests.uploads.files import PDF_BYTES, image_bytes, uploaded
from uploads.models import UploadTracking


def post(api, name, data, kind, **extra):
    return api.post(reverse("upload-list"), {"file": uploaded(name, data), "kind": kind, **extra}, format="multipart")


@pytest.mark.django_db(transaction=True)
def test_upload_an_image_and_follow_it(api, user):
    response = post(api, "stool.jpg", image_bytes(), "image")
    assert response.status_code == 202, response.data
    body = response.json()
    assert body["status"] == "complete"  # tasks run in-process on the embedded defaults
    assert body["content_type"] == "image/jpeg"
    assert body["permanent_backend"] == "local"
    detail = api.get(reverse("upload-detail", args=[body["id"]]))
    assert detail.status_code == 200
    assert detail.json()["inventory_item"] == body["inventory_item"]


@pytest.mark.django_db(transaction=True)
def test_photo_for_an_existing_item(api, user):
    item = InventoryItem.objects.create(owner=user, name="Bowl")
    response = post(api, "bowl.png", image_bytes("PNG"), "image", inventory_item=item.pk)
    assert response.status_code == 202
    item.refresh_from_db()
    assert item.image.name.endswith("/bowl.png")


@pytest.mark.django_db(transaction=True)
def test_list_shows_only_own_uploads_with_status_filter_and_pages(api, other_api):
    for index in range(3):
        post(api, f"n{index}.txt", b"note", "document")
    post(other_api, "theirs.txt", b"note", "document")
    page = api.get(reverse("upload-list"), {"page_size": 2}).json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"]
    assert {r["original_filename"] for r in page["results"]} <= {"n0.txt", "n1.txt", "n2.txt"}
    assert api.get(reverse("upload-list"), {"status": "error"}).json()["count"] == 0
    assert api.get(reverse("upload-list"), {"status": "lost"}).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_another_users_upload_is_404(api, other_api):
    theirs = post(other_api, "theirs.txt", b"note", "document").json()
    assert api.get(reverse("upload-detail", args=[theirs["id"]])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_another_users_item_is_refused(api, other_user):
    item = InventoryItem.objects.create(owner=other_user, name="Theirs")
    response = post(api, "a.png", image_bytes("PNG"), "image", inventory_item=item.pk)
    assert response.status_code == 400
    assert response.json() == {"inventory_item": ["No such inventory item."]}
    assert UploadTracking.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_another_users_document_is_refused(api, other_user):
    document = Document.objects.create(owner=other_user, title="Theirs")
    response = post(api, "a.txt", b"note", "document", document=document.pk)
    assert response.status_code == 400
    assert response.json() == {"document": ["No such document."]}
    assert UploadTracking.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_is_refused(client):
    assert client.get(reverse("upload-list")).status_code in {401, 403}
    assert client.post(reverse("upload-list"), {}).status_code in {401, 403}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "image"}, "file"),
        ({"file": "not a file", "kind": "image"}, "file"),
        ({"kind": "video", "file": "x"}, "kind"),
        ({"kind": "file", "file": "x"}, "kind"),  # storage_manager's kind, not the API's
        ({"file": "x", "kind": "document", "document": "abc"}, "document"),
    ],
)
def test_invalid_payload_gets_field_errors(api, payload, field):
    if payload.get("file") == "x":
        payload["file"] = uploaded("a.txt", b"hello")
    response = api.post(reverse("upload-list"), payload, format="multipart")
    assert response.status_code == 400
    assert field in response.json()
    assert UploadTracking.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "data", "kind", "field", "phrase", "status"),
    [
        ("photo.jpg", PDF_BYTES, "image", "file", "not an accepted image", 415),
        ("empty.txt", b"", "document", "file", "empty", 400),
        ("big.txt", b"x" * 5000, "document", "file", "largest accepted upload", 413),
    ],
)
def test_refused_content_answers_4xx_with_the_reason(api, settings, name, data, kind, field, phrase, status):
    settings.UPLOAD_MAX_SIZE = 4096
    response = post(api, name, data, kind)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {field, "code"}
    assert phrase in body[field][0]
    assert UploadTracking.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_hostile_names_are_cleaned(api):
    long_name = "x" * 10_000 + ".txt"
    cases = [
        ("../../../etc/passwd.txt", "passwd.txt"),
        (long_name, "x" * 116 + ".txt"),
        ("Ünïcødé stool ☺.txt", "Ünïcødé stool _.txt"),
    ]
    for name, expected in cases:
        body = post(api, name, b"note", "document").json()
        assert body["original_filename"] == expected
        upload = UploadTracking.objects.get(pk=body["id"])
        assert ".." not in upload.permanent_name
