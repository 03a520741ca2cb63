"""Upload tracking in the admin: filters, links to what each upload is for, the retry action; pending deletes."""

import pytest
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker

from inventory.models import InventoryItem
from storage_app.models import StoredFile
from tests.uploads.files import image_bytes
from uploads.models import UploadTracking
from uploads.services.temporary import write_temporary

CHANGELIST = reverse("admin:uploads_uploadtracking_changelist")


@pytest.fixture
def failed_upload(user):
    """The state a photo upload is left in once its promotion gave up: bytes in the temporary area, row 'error'."""
    item = InventoryItem.objects.create(owner=user, name="Fan")
    temporary = write_temporary([image_bytes("PNG")], max_size=10**6)
    return UploadTracking.objects.create(
        owner=user,
        original_filename="fan.png",
        content_type="image/png",
        size=temporary.size,
        checksum=temporary.checksum,
        kind="image",
        status="error",
        attempts=5,
        last_error="StorageTimeout: slow",
        temp_path=temporary.name,
        inventory_item=item,
    )


@pytest.mark.django_db
def test_status_filter_and_links(staff_client, failed_upload):
    page = staff_client.get(CHANGELIST, {"status__exact": "error"}).content.decode()
    assert "fan.png" in page
    assert reverse("admin:inventory_inventoryitem_change", args=[failed_upload.inventory_item_id]) in page
    assert "StorageTimeout: slow" in page
    assert "fan.png" not in staff_client.get(CHANGELIST, {"status__exact": "complete"}).content.decode()
    assert staff_client.get(CHANGELIST, {"kind__exact": "image", "q": "fan"}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_retry_action_promotes_a_failed_upload(staff_client, failed_upload):
    response = staff_client.post(
        CHANGELIST, {"action": "retry_uploads", "_selected_action": [failed_upload.pk]}, follow=True
    )
    assert "1 upload(s) queued again." in response.content.decode()
    failed_upload.refresh_from_db()
    assert failed_upload.status == "complete"  # in-process on the embedded defaults
    item = InventoryItem.objects.get(pk=failed_upload.inventory_item_id)
    assert item.thumbnail.name

    again = staff_client.post(
        CHANGELIST, {"action": "retry_uploads", "_selected_action": [failed_upload.pk]}, follow=True
    )
    assert "1 upload(s) were already complete." in again.content.decode()


@pytest.mark.django_db
def test_pending_deletions_are_listed_read_only(staff_client):
    StoredFile.objects.create(
        name="inventory/1/1/a.jpg",
        backend="s3",
        state="deleting",
        attempts=2,
        last_error="s3: StorageConnectionError",
        next_attempt_at=timezone.now(),
    )
    StoredFile.objects.create(name="inventory/1/1/b.jpg", backend="local", state="stored", size=1, checksum="0" * 64)
    url = reverse("admin:storage_app_storedfile_changelist") + "?state__exact=deleting"
    page = staff_client.get(url).content.decode()
    assert "inventory/1/1/a.jpg" in page
    assert "s3: StorageConnectionError" in page
    assert "inventory/1/1/b.jpg" not in page
    assert staff_client.get(reverse("admin:storage_app_storedfile_add")).status_code == 403
    record = StoredFile.objects.get(name="inventory/1/1/a.jpg")
    assert staff_client.post(reverse("admin:storage_app_storedfile_delete", args=[record.pk])).status_code == 403
    assert StoredFile.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_upload_tracking_is_read_only_except_retry(staff_client, staff_user):
    row = baker.make(
        "uploads.UploadTracking", owner=staff_user, kind="image", status="error", size=10, checksum="0" * 64
    )
    changelist = staff_client.get(CHANGELIST)
    assert changelist.status_code == 200
    assert reverse("admin:uploads_uploadtracking_add").encode() not in changelist.content  # no Add button
    assert b'value="retry_uploads"' in changelist.content
    assert b'value="delete_selected"' not in changelist.content
    assert staff_client.get(reverse("admin:uploads_uploadtracking_add")).status_code == 403
    change_url = reverse("admin:uploads_uploadtracking_change", args=[row.pk])
    page = staff_client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view page, nothing to save
    assert staff_client.post(change_url, {"status": "complete"}).status_code == 403
    row.refresh_from_db()
    assert row.status == "error"
