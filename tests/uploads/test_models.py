import pytest
from django.db import IntegrityError
from model_bakery import baker

from uploads.models import UploadTracking


def tracking(user, **fields):
    values = {
        "owner": user,
        "original_filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": 10,
        "checksum": "0" * 64,
        "kind": "image",
        **fields,
    }
    return UploadTracking.objects.create(**values)


@pytest.mark.django_db
def test_new_upload_is_pending(user):
    upload = tracking(user)
    assert upload.status == UploadTracking.Status.PENDING
    assert upload.attempts == 0
    assert UploadTracking._meta.db_table == "upload_tracking"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"status": "lost"},
        {"kind": "video"},
        {"size": -5},
        {"status": "complete"},  # complete without a permanent location
        {"status": "complete", "permanent_name": "a.jpg"},
    ],
)
def test_upload_constraints(user, fields):
    with pytest.raises(IntegrityError):
        tracking(user, **fields)


@pytest.mark.django_db
def test_complete_upload_records_where_the_file_lives(user):
    upload = tracking(user, status="complete", permanent_name="inventory/a.jpg", permanent_backend="vercel")
    assert upload.permanent_backend == "vercel"


@pytest.mark.django_db
def test_deleting_the_item_keeps_the_tracking_row(user):
    item = baker.make("inventory.InventoryItem", owner=user, name="Fan")
    upload = tracking(user, inventory_item=item)
    item.delete()
    upload.refresh_from_db()
    assert upload.inventory_item is None
