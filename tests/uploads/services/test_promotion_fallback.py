"""With the primary (the local Vercel Blob server, answering 503) down, a promotion completes on the fallback."""

import pytest
from django.core.files.storage import FileSystemStorage

from storage_app.fallback import FallbackStorage
from tests.uploads.services.test_promotion import make_pending
from uploads.models import UploadTracking
from uploads.services.promotion import upload_promote


@pytest.mark.django_db(transaction=True)
def test_primary_down_during_promotion_lands_on_the_fallback(user, vercel_blob, vercel_blob_storage, tmp_path):
    storage = FallbackStorage([("vercel", vercel_blob_storage), ("local", FileSystemStorage(location=tmp_path / "fb"))])
    vercel_blob.faults.fail(503, times=1000)
    upload = make_pending(user, name="terms.txt", data=b"net 30 days", kind="document")

    assert upload_promote(upload_id=upload.pk, storage=storage).status == "complete"

    assert vercel_blob.request_count() >= 1, "the primary was tried first"
    upload = UploadTracking.objects.get(pk=upload.pk)
    assert upload.permanent_backend == "local"
    assert storage.backend_of(upload.permanent_name) == "local"
    with storage.open(upload.permanent_name) as handle:
        assert handle.read() == b"net 30 days"
