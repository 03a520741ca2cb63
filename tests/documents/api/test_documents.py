"""The document endpoints: upload through the tracked pipeline, per-user reads, streamed download, delete."""

import hashlib
from urllib.parse import quote

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from rest_framework.test import APIClient

from documents.models import Document
from storage_app.models import StoredFile
from tests.uploads.files import PDF_BYTES, docx_bytes, image_bytes, uploaded, zip_bytes
from uploads.models import UploadTracking

LIST = reverse("document-list")


def detail(document_id):
    return reverse("document-detail", args=[document_id])


def download(document_id):
    return reverse("document-download", args=[document_id])


# --- upload ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_upload_stores_the_file_and_fills_in_its_facts(api, user):
    data = docx_bytes("Supplier contract for beaded stools.")
    response = api.post(
        LIST,
        {"file": uploaded("Contract 2024.docx", data), "author": "Ada", "tags": ["legal", "2024"], "surprise": "x"},
        format="multipart",
    )
    assert response.status_code == 201, response.data
    body = response.json()
    assert body["title"] == "Contract 2024"  # from the file name
    assert body["author"] == "Ada"
    assert body["tags"] == ["legal", "2024"]
    assert body["upload_status"] == "complete"
    assert body["filename"] == "Contract 2024.docx"
    assert body["content_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert body["size"] == len(data)
    assert body["checksum"] == hashlib.sha256(data).hexdigest()
    assert body["download_url"] == f"http://testserver/api/documents/{body['id']}/download"
    document = Document.objects.get(pk=body["id"])
    assert document.owner == user
    assert default_storage.exists(document.file.name)
    assert UploadTracking.objects.get(document=document).original_filename == "Contract 2024.docx"


@pytest.mark.django_db(transaction=True)
def test_upload_with_an_explicit_title(api):
    response = api.post(LIST, {"file": uploaded("n.md", b"# Notes\n"), "title": "Meeting notes"}, format="multipart")
    assert response.status_code == 201
    assert response.json()["title"] == "Meeting notes"
    assert response.json()["content_type"] == "text/markdown"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "data", "phrase", "status"),
    [
        ("photo.pdf", image_bytes("PNG", (8, 8)), "not an accepted document", 415),
        ("archive.docx", zip_bytes(), "not an accepted document", 415),
        ("empty.txt", b"", "empty", 400),
        ("big.txt", b"x" * 5000, "largest accepted upload", 413),
    ],
)
def test_a_refused_file_leaves_no_document(api, settings, name, data, phrase, status):
    settings.UPLOAD_MAX_SIZE = 4096
    response = api.post(LIST, {"file": uploaded(name, data)}, format="multipart")
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"file", "code"}
    assert phrase in body["file"][0]
    assert Document.objects.count() == 0
    assert UploadTracking.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "file"),
        ({"file": "not a file"}, "file"),
        ({"file": "x", "title": "t" * 256}, "title"),
        ({"file": "x", "title": "nul\x00"}, "title"),
        ({"file": "x", "tags": "t" * 51}, "tags"),
        ({"file": "x", "category": "c" * 101}, "category"),
    ],
)
def test_invalid_payload_gets_field_errors(api, payload, field):
    if payload.get("file") == "x":
        payload["file"] = uploaded("a.txt", b"hello")
    response = api.post(LIST, payload, format="multipart")
    assert response.status_code == 400
    assert field in response.json()
    assert Document.objects.count() == 0


@pytest.mark.django_db
def test_json_is_not_an_upload(api):
    assert api.post(LIST, {"title": "x"}, format="json").status_code == 415


@pytest.mark.django_db(transaction=True)
def test_hostile_file_names(api):
    long_name = "y" * 10_000 + ".txt"
    for name, expected in [("../../secret.txt", "secret.txt"), (long_name, "y" * 116 + ".txt")]:
        body = api.post(LIST, {"file": uploaded(name, b"text")}, format="multipart").json()
        assert body["filename"] == expected
        assert len(body["title"]) <= 255
        assert ".." not in Document.objects.get(pk=body["id"]).file.name


# --- list --------------------------------------------------------------------------------------


@pytest.fixture
def library(user, other_user):
    docs = [
        Document.objects.create(owner=user, title="Contract", category="Legal", tags=["supplier"], size=300),
        Document.objects.create(owner=user, title="Price list", category="Sales", author="Ada", size=100),
        Document.objects.create(
            owner=user, title="Invoice 7", category="Sales", size=200, processing_status="complete"
        ),
    ]
    Document.objects.create(owner=other_user, title="Their contract", category="Legal")
    return docs


def titles(response):
    return [row["title"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_list_shows_only_own_documents(api, library):
    response = api.get(LIST)
    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert titles(response) == ["Invoice 7", "Price list", "Contract"]
    assert response.json()["results"][0]["download_url"] is None  # no file stored yet


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "Sales"}, {"Price list", "Invoice 7"}),
        ({"processing_status": "complete"}, {"Invoice 7"}),
        ({"search": "SUPPLIER"}, {"Contract"}),
        ({"search": "ada"}, {"Price list"}),
        ({"search": "contract"}, {"Contract"}),
    ],
)
def test_filters(api, library, params, expected):
    assert set(titles(api.get(LIST, params))) == expected


@pytest.mark.django_db
def test_ordering_and_pages(api, library):
    assert titles(api.get(LIST, {"ordering": "size"})) == ["Price list", "Invoice 7", "Contract"]
    assert titles(api.get(LIST, {"ordering": "-title"})) == ["Price list", "Invoice 7", "Contract"]
    page = api.get(LIST, {"page_size": 2, "ordering": "title"}).json()
    assert [r["title"] for r in page["results"]] == ["Contract", "Invoice 7"]
    assert page["next"]
    assert [r["title"] for r in APIClient.get(api, page["next"]).json()["results"]] == ["Price list"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "owner"}, "ordering"),
        ({"processing_status": "lost"}, "processing_status"),
        ({"search": "s" * 201}, "search"),
    ],
)
def test_invalid_filters_are_400(api, library, params, field):
    response = api.get(LIST, params)
    assert response.status_code == 400
    assert field in response.json()


# --- retrieve, download, delete ----------------------------------------------------------------


@pytest.mark.django_db
def test_retrieve(api, stored_document):
    response = api.get(detail(stored_document.pk))
    assert response.status_code == 200
    assert response.json()["filename"] == "contract.pdf"  # no upload row: the stored name


@pytest.mark.django_db
def test_download_streams_the_file_as_an_attachment(api, stored_document):
    response = api.get(download(stored_document.pk), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="contract.pdf"'
    assert response["Content-Length"] == str(len(PDF_BYTES))
    assert b"".join(response.streaming_content) == PDF_BYTES


@pytest.mark.django_db(transaction=True)
def test_download_keeps_a_unicode_name_safely(api):
    name = 'Ünïcødé "contract" ☺.txt'
    body = api.post(LIST, {"file": uploaded(name, b"hello")}, format="multipart").json()
    response = api.get(body["download_url"])
    assert response.status_code == 200
    stored_name = body["filename"]
    assert "☺" not in stored_name  # cleaned on the way in
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(stored_name)}"
    assert b"".join(response.streaming_content) == b"hello"


@pytest.mark.django_db
def test_download_before_the_file_is_stored_is_409(api, user):
    document = Document.objects.create(owner=user, title="pending")
    response = api.get(download(document.pk))
    assert response.status_code == 409
    assert "not stored yet" in response.json()["detail"]


@pytest.mark.django_db
def test_download_of_a_lost_file_is_404(api, stored_document):
    default_storage.delete(stored_document.file.name)
    assert api.get(download(stored_document.pk)).status_code == 404


@pytest.mark.django_db
def test_another_users_document_is_404(other_api, stored_document):
    assert other_api.get(detail(stored_document.pk)).status_code == 404
    assert other_api.get(download(stored_document.pk)).status_code == 404
    assert other_api.delete(detail(stored_document.pk)).status_code == 404
    assert Document.objects.filter(pk=stored_document.pk).exists()
    assert default_storage.exists(stored_document.file.name)


@pytest.mark.django_db(transaction=True)
def test_delete_removes_the_row_and_then_the_file(api, stored_document):
    name = stored_document.file.name
    assert api.delete(detail(stored_document.pk)).status_code == 204
    assert not Document.objects.filter(pk=stored_document.pk).exists()
    assert not default_storage.exists(name)
    assert api.get(detail(stored_document.pk)).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_file_that_cannot_be_deleted_is_kept_for_retry(api, user, settings):
    document = Document.objects.create(owner=user, title="Stuck")
    stuck = settings.LOCAL_STORAGE_ROOT / "documents" / "stuck"
    stuck.mkdir(parents=True)
    (stuck / "inside").write_bytes(b"x")
    # FallbackStorage finds a file through its location record: this one is said to be on the local disk.
    StoredFile.objects.create(name="documents/stuck", backend="local", state="stored", size=1, checksum="0" * 64)
    document.file.name = "documents/stuck"
    document.save()
    assert api.delete(detail(document.pk)).status_code == 204
    assert StoredFile.objects.get(name="documents/stuck", state="deleting").attempts == 1  # the ledger


@pytest.mark.django_db
def test_anonymous_is_refused_everywhere(stored_document):
    anonymous = APIClient()
    for url in (LIST, detail(stored_document.pk), download(stored_document.pk)):
        assert anonymous.get(url).status_code in {401, 403}, url
    assert anonymous.post(LIST, {"file": uploaded("a.txt", b"x")}).status_code in {401, 403}
    assert anonymous.delete(detail(stored_document.pk)).status_code in {401, 403}
    assert Document.objects.filter(pk=stored_document.pk).exists()
