"""upload_create on the embedded defaults: tasks run in-process after commit, files land in local storage."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image

from documents.models import Document
from inventory.models import InventoryItem
from tests.uploads.files import PDF_BYTES, image_bytes, uploaded
from uploads.models import UploadTracking
from uploads.services.uploads import upload_create
from uploads.validation import UploadRejected


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.django_db(transaction=True)
def test_image_upload_is_promoted_with_a_thumbnail(user, settings):
    upload = upload_create(owner=user, file=uploaded("Teak stool.JPG", image_bytes(size=(1200, 900))), kind="image")
    upload.refresh_from_db()
    assert upload.status == UploadTracking.Status.COMPLETE
    assert upload.attempts == 1
    assert upload.permanent_backend == "local"
    assert upload.permanent_name == f"inventory/{user.pk}/{upload.pk}/Teak stool.jpg"
    item = InventoryItem.objects.get(pk=upload.inventory_item_id)
    assert item.name == "Teak stool"
    assert item.image.name == upload.permanent_name
    assert default_storage.size(item.image.name) == upload.size
    with default_storage.open(item.thumbnail.name) as handle, Image.open(handle) as thumb:
        assert max(thumb.size) == 300
        assert thumb.format == "JPEG"
    assert list(Path(settings.TEMP_UPLOAD_ROOT).iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_document_upload_fills_the_document_row(user):
    document = Document.objects.create(owner=user, title="Contract")
    upload = upload_create(owner=user, file=uploaded("contract.pdf", PDF_BYTES), kind="document", target=document)
    document.refresh_from_db()
    assert document.file.name == f"documents/{user.pk}/{upload.pk}/contract.pdf"
    assert document.size == len(PDF_BYTES)
    assert document.checksum == upload.checksum
    assert document.content_type == "application/pdf"
    with default_storage.open(document.file.name) as handle:
        assert handle.read() == PDF_BYTES


@pytest.mark.django_db(transaction=True)
def test_new_image_replaces_the_old_one_and_removes_its_files(user):
    first = upload_create(owner=user, file=uploaded("a.png", image_bytes("PNG")), kind="image")
    item = InventoryItem.objects.get(pk=first.inventory_item_id)
    old_image, old_thumb = item.image.name, item.thumbnail.name
    upload_create(owner=user, file=uploaded("b.png", image_bytes("PNG", color="red")), kind="image", target=item)
    item.refresh_from_db()
    assert item.image.name.endswith("/b.png")
    assert not default_storage.exists(old_image)
    assert not default_storage.exists(old_thumb)


@pytest.mark.django_db(transaction=True)
def test_nothing_happens_before_commit(user):
    with transaction.atomic():
        upload = upload_create(owner=user, file=uploaded("a.txt", b"hello"), kind="document")
        assert UploadTracking.objects.get(pk=upload.pk).status == "pending"
    assert UploadTracking.objects.get(pk=upload.pk).status == "complete"


@pytest.mark.django_db(transaction=True)
def test_rolled_back_upload_leaves_only_a_temporary_file_for_the_sweep(user, settings):
    def failing_caller():
        with transaction.atomic():
            upload_create(owner=user, file=uploaded("a.txt", b"hello"), kind="document")
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        failing_caller()
    assert UploadTracking.objects.count() == 0
    assert Document.objects.count() == 0
    assert stored_files(Path(settings.LOCAL_STORAGE_ROOT)) == []


REFUSALS = [
    ("empty.txt", b"", "document", "empty_file"),
    ("big.txt", b"x" * 2048, "document", "file_too_large"),
    ("photo.jpg", PDF_BYTES, "image", "unsupported_type"),
    ("evil\x00.txt", b"hello", "document", "invalid_filename"),
    ("a.txt", b"hello", "video", "invalid_kind"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "data", "kind", "code"), REFUSALS)
def test_refused_upload_leaves_nothing_behind(user, settings, name, data, kind, code):
    settings.UPLOAD_MAX_SIZE = 1024
    with pytest.raises(UploadRejected) as excinfo:
        upload_create(owner=user, file=uploaded(name, data), kind=kind)
    assert excinfo.value.code == code
    assert UploadTracking.objects.count() == 0
    assert InventoryItem.objects.count() == 0
    assert Document.objects.count() == 0
    assert list(Path(settings.TEMP_UPLOAD_ROOT).iterdir()) == []
    assert stored_files(Path(settings.LOCAL_STORAGE_ROOT)) == []


@pytest.mark.django_db(transaction=True)
def test_another_users_item_is_refused(user, other_user, settings):
    item = InventoryItem.objects.create(owner=other_user, name="Not yours")
    with pytest.raises(UploadRejected) as excinfo:
        upload_create(owner=user, file=uploaded("a.png", image_bytes("PNG")), kind="image", target=item)
    assert excinfo.value.code == "invalid_target"
    assert UploadTracking.objects.count() == 0
    assert list(Path(settings.TEMP_UPLOAD_ROOT).iterdir()) == []
    item.refresh_from_db()
    assert not item.image


@pytest.mark.django_db(transaction=True)
def test_promote_now_answers_with_the_permanent_location(celery_broker, user):
    # A real broker and no worker: a queued upload would stay pending.
    queued = upload_create(owner=user, file=uploaded("q.txt", b"queued"), kind="document")
    assert UploadTracking.objects.get(pk=queued.pk).status == "pending"
    upload = upload_create(owner=user, file=uploaded("a.txt", b"now"), kind="document", promote_now=True)
    assert upload.status == "complete"
    with default_storage.open(upload.permanent_name) as handle:
        assert handle.read() == b"now"
