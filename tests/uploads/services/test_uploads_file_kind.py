"""upload_create for kind `file` (storage_manager's): the caller's type, no item or document, a per-user name."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from documents.models import Document
from inventory.models import InventoryItem
from tests.uploads.files import PDF_BYTES, uploaded
from uploads.models import UploadTracking
from uploads.services.uploads import upload_create
from uploads.validation import UploadRejected


@pytest.mark.django_db(transaction=True)
def test_a_plain_file_keeps_the_callers_type_and_is_attached_to_nothing(user):
    data = bytes(range(256)) * 4  # binary that no image or document sniffing would accept
    upload = upload_create(
        owner=user, file=uploaded("dump.bin", data), kind="file", content_type="application/x-dump", promote_now=True
    )
    assert (upload.status, upload.kind, upload.content_type) == ("complete", "file", "application/x-dump")
    assert upload.permanent_name == f"users/{user.pk}/{upload.pk}/dump.bin"
    assert (upload.inventory_item, upload.document) == (None, None)
    assert InventoryItem.objects.count() == 0
    assert Document.objects.count() == 0
    with default_storage.open(upload.permanent_name) as handle:
        assert handle.read() == data


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("kind", "extra", "code"),
    [
        ("file", {}, "invalid_content_type"),  # a plain file must say what it is
        ("file", {"content_type": "no type"}, "invalid_content_type"),
        ("file", {"content_type": "text/plain\nX: 1"}, "invalid_content_type"),
        ("document", {"content_type": "application/pdf"}, "invalid_content_type"),  # documents are sniffed
        ("file", {"content_type": "text/plain", "target": "own"}, "invalid_target"),
    ],
)
def test_refusals_leave_nothing_behind(user, settings, kind, extra, code):
    if extra.get("target") == "own":
        extra["target"] = Document.objects.create(owner=user, title="Mine")
    with pytest.raises(UploadRejected) as refused:
        upload_create(owner=user, file=uploaded("a.pdf", PDF_BYTES), kind=kind, **extra)
    assert refused.value.code == code
    assert UploadTracking.objects.count() == 0
    assert list(Path(settings.TEMP_UPLOAD_ROOT).iterdir()) == []
