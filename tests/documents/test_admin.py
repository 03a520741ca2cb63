"""Staff manage documents in the admin: files through the tracked pipeline, status and a download link."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from documents.models import Document
from tests.uploads.files import docx_bytes, image_bytes, uploaded
from uploads.models import UploadTracking

ADD = reverse("admin:documents_document_add")
CHANGELIST = reverse("admin:documents_document_changelist")


@pytest.mark.django_db(transaction=True)
def test_adding_a_document_tracks_its_file_and_lists_it_with_a_download_link(staff_client, staff_user):
    data = docx_bytes()
    response = staff_client.post(
        ADD, {"owner": staff_user.pk, "title": "", "tags": "legal", "upload": uploaded("Lease 2024.docx", data)}
    )
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.title == "Lease 2024"  # the file name when no title is given
    assert document.size == len(data)
    assert UploadTracking.objects.get(document=document).status == "complete"
    assert default_storage.exists(document.file.name)

    page = staff_client.get(CHANGELIST).content.decode()
    download_url = reverse("admin:documents_document_download", args=[document.pk])
    assert f'href="{download_url}"' in page
    assert "complete" in page
    download = staff_client.get(download_url)
    assert download["Content-Disposition"] == 'attachment; filename="Lease 2024.docx"'
    assert b"".join(download.streaming_content) == data


@pytest.mark.django_db(transaction=True)
def test_a_refused_file_is_a_form_error(staff_client, staff_user):
    photo = uploaded("a.pdf", image_bytes("PNG", (8, 8)))
    response = staff_client.post(ADD, {"owner": staff_user.pk, "title": "x", "upload": photo})
    assert response.status_code == 200
    assert "not an accepted document" in response.context["adminform"].form.errors["upload"][0]
    assert Document.objects.count() == 0


@pytest.mark.django_db
def test_a_new_document_needs_a_file(staff_client, staff_user):
    response = staff_client.post(ADD, {"owner": staff_user.pk, "title": "No file"})
    assert response.status_code == 200
    assert "upload" in response.context["adminform"].form.errors
    assert Document.objects.count() == 0


@pytest.mark.django_db
def test_changing_metadata_without_a_new_file(staff_client, staff_user):
    document = Document.objects.create(owner=staff_user, title="Old")
    change = reverse("admin:documents_document_change", args=[document.pk])
    assert staff_client.post(change, {"owner": staff_user.pk, "title": "New", "tags": ""}).status_code == 302
    document.refresh_from_db()
    assert document.title == "New"
    assert "not stored yet" in staff_client.get(CHANGELIST).content.decode()


@pytest.mark.django_db(transaction=True)
def test_deleting_in_the_admin_removes_the_file(staff_client, staff_user):
    staff_client.post(ADD, {"owner": staff_user.pk, "title": "t", "upload": uploaded("a.txt", b"hello")})
    document = Document.objects.get()
    name = document.file.name
    response = staff_client.post(reverse("admin:documents_document_delete", args=[document.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Document.objects.exists()
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_download_is_staff_only(client, user):
    document = Document.objects.create(owner=user, title="x")
    url = reverse("admin:documents_document_download", args=[document.pk])
    client.force_login(user)
    assert client.get(url).status_code == 302
