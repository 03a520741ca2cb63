"""Every status transition of a promotion, and re-runs after a crash at each step.

The failing stores here are FileSystemStorage subclasses that raise the storage layer's own
exceptions: the outage is what is under test, and no real server refuses in exactly one way on
demand. The real-server outages are proven in the fallback and worker suites.
"""

import io
import os
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone
from PIL import Image

from documents.models import Document
from inventory.models import InventoryItem
from storage_app.exceptions import StorageRejected, StorageServiceError
from tests.uploads.files import image_bytes, uploaded
from uploads.models import UploadTracking
from uploads.services.promotion import permanent_name, thumbnail_name, upload_promote
from uploads.services.temporary import CHUNK_SIZE, temporary_path, write_temporary
from uploads.validation import sniff_type


class UnavailableStorage(FileSystemStorage):
    def _save(self, name, content):
        raise StorageServiceError("503 from the test store", backend="test")


class RejectingStorage(FileSystemStorage):
    def _save(self, name, content):
        raise StorageRejected("the test store refuses this name", backend="test")


def make_pending(user, *, name: str, data: bytes, kind: str) -> UploadTracking:
    """The state upload_create leaves before its promotion runs: a temporary file and a pending row."""
    temporary = write_temporary([data], max_size=10**8)
    content_type = sniff_type(temporary.path, kind=kind, filename=name).content_type
    target = {}
    if kind == "image":
        target["inventory_item"] = InventoryItem.objects.create(owner=user, name=name)
    else:
        target["document"] = Document.objects.create(owner=user, title=name)
    return UploadTracking.objects.create(
        owner=user,
        original_filename=name,
        content_type=content_type,
        size=temporary.size,
        checksum=temporary.checksum,
        kind=kind,
        temp_path=temporary.name,
        **target,
    )


@pytest.fixture
def pending_upload(user):
    return make_pending(user, name="notes.txt", data=b"twelve stools", kind="document")


def objects_of(upload, root: Path) -> list[Path]:
    folder = root / Path(permanent_name(upload)).parent
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.django_db(transaction=True)
def test_pending_to_complete(pending_upload, settings):
    assert pending_upload.status == "pending"
    assert upload_promote(upload_id=pending_upload.pk).status == "complete"
    pending_upload.refresh_from_db()
    assert pending_upload.status == "complete"
    assert pending_upload.completed_at is not None
    assert not (Path(settings.TEMP_UPLOAD_ROOT) / pending_upload.temp_path).exists()
    assert upload_promote(upload_id=pending_upload.pk).status == "already_complete"


@pytest.mark.django_db(transaction=True)
def test_outage_sends_it_back_to_pending_then_error_when_the_budget_is_spent(pending_upload, settings, tmp_path):
    settings.UPLOAD_MAX_ATTEMPTS = 3
    storage = UnavailableStorage(location=tmp_path / "down")
    delays = []
    for attempt in range(1, 4):
        result = upload_promote(upload_id=pending_upload.pk, storage=storage)
        pending_upload.refresh_from_db()
        assert pending_upload.attempts == attempt
        assert "503 from the test store" in pending_upload.last_error
        delays.append(result.retry_in)
        expected = "error" if attempt == 3 else "pending"
        assert pending_upload.status == expected
    assert delays[:2] == [2.0, 4.0]
    assert delays[2] is None
    # The file is kept for the staff's retry.
    assert (Path(settings.TEMP_UPLOAD_ROOT) / pending_upload.temp_path).exists()


@pytest.mark.django_db(transaction=True)
def test_client_error_is_final_at_once(pending_upload, tmp_path):
    result = upload_promote(upload_id=pending_upload.pk, storage=RejectingStorage(location=tmp_path / "no"))
    pending_upload.refresh_from_db()
    assert result.status == "error"
    assert pending_upload.status == "error"
    assert pending_upload.attempts == 1
    assert "StorageRejected: the test store refuses this name" in pending_upload.last_error


@pytest.mark.django_db(transaction=True)
def test_a_fresh_processing_row_is_left_to_its_worker(pending_upload):
    UploadTracking.objects.filter(pk=pending_upload.pk).update(
        status="processing", processing_started_at=timezone.now()
    )
    assert upload_promote(upload_id=pending_upload.pk).status == "busy"
    assert UploadTracking.objects.get(pk=pending_upload.pk).attempts == 0


@pytest.mark.django_db(transaction=True)
def test_a_stale_processing_row_is_taken_over(pending_upload, settings):
    started = timezone.now() - timedelta(seconds=settings.UPLOAD_STALE_AFTER + 5)
    UploadTracking.objects.filter(pk=pending_upload.pk).update(status="processing", processing_started_at=started)
    assert upload_promote(upload_id=pending_upload.pk).status == "complete"


@pytest.mark.django_db(transaction=True)
def test_rerun_after_a_crash_between_upload_and_commit_reuses_the_object(pending_upload, settings):
    # What a crashed run leaves: the object written, the row still processing.
    name = permanent_name(pending_upload)
    with (Path(settings.TEMP_UPLOAD_ROOT) / pending_upload.temp_path).open("rb") as handle:
        assert default_storage.save(name, handle) == name
    UploadTracking.objects.filter(pk=pending_upload.pk).update(
        status="processing", processing_started_at=timezone.now() - timedelta(days=1)
    )
    assert upload_promote(upload_id=pending_upload.pk).status == "complete"
    assert [p.name for p in objects_of(pending_upload, Path(settings.LOCAL_STORAGE_ROOT))] == ["notes.txt"]


@pytest.mark.django_db(transaction=True)
def test_rerun_replaces_a_partial_object(pending_upload, settings):
    name = permanent_name(pending_upload)
    default_storage.save(name, uploaded("notes.txt", b"twel"))  # cut short by the crash
    assert upload_promote(upload_id=pending_upload.pk).status == "complete"
    with default_storage.open(name) as handle:
        assert handle.read() == b"twelve stools"
    assert len(objects_of(pending_upload, Path(settings.LOCAL_STORAGE_ROOT))) == 1


@pytest.mark.django_db(transaction=True)
def test_item_deleted_on_the_way_keeps_no_object(user, settings):
    upload = make_pending(user, name="a.png", data=image_bytes("PNG"), kind="image")
    InventoryItem.objects.filter(pk=upload.inventory_item_id).delete()
    assert upload_promote(upload_id=upload.pk).status == "error"
    upload.refresh_from_db()
    assert "deleted" in upload.last_error
    assert objects_of(upload, Path(settings.LOCAL_STORAGE_ROOT)) == []


@pytest.mark.django_db(transaction=True)
def test_missing_row_is_reported(db):
    assert upload_promote(upload_id=987654).status == "missing"


def noisy_png(size: tuple[int, int]) -> bytes:
    """A PNG that barely compresses: its file is about width x height x 3 bytes."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def crash_after_the_write_and_lose_the_temporary_file(upload: UploadTracking, storage) -> None:
    """A run wrote the object and died before its commit; then the temporary area went too (a lost local disk)."""
    temporary = temporary_path(upload.temp_path)
    with temporary.open("rb") as handle:
        assert storage.save(permanent_name(upload), handle) == permanent_name(upload)
    temporary.unlink()
    UploadTracking.objects.filter(pk=upload.pk).update(
        status="processing", processing_started_at=timezone.now() - timedelta(days=1)
    )


def stored_thumbnail(upload: UploadTracking, storage) -> Image.Image:
    item = InventoryItem.objects.get(pk=upload.inventory_item_id)
    assert item.image.name == permanent_name(upload)
    assert item.thumbnail.name == thumbnail_name(upload)
    with storage.open(item.thumbnail.name, "rb") as handle:
        thumbnail = Image.open(io.BytesIO(handle.read()))
    assert thumbnail.format == "JPEG"
    return thumbnail


@pytest.mark.django_db(transaction=True)
def test_rerun_without_the_temporary_file_makes_the_thumbnail_from_the_permanent_copy(user):
    upload = make_pending(user, name="stool.png", data=image_bytes("PNG", (1200, 900)), kind="image")
    crash_after_the_write_and_lose_the_temporary_file(upload, default_storage)

    assert upload_promote(upload_id=upload.pk).status == "complete"

    thumbnail = stored_thumbnail(upload, default_storage)
    assert thumbnail.size == (300, 225)
    # It is this photo's picture: teal (0, 128, 128), give or take JPEG's rounding.
    assert all(abs(got - want) <= 8 for got, want in zip(thumbnail.getpixel((150, 112)), (0, 128, 128), strict=True))


@pytest.mark.django_db(transaction=True)
def test_the_permanent_copy_is_streamed_from_a_remote_store_in_bounded_memory(user, vercel_blob_storage):
    data = noisy_png((3000, 2000))
    assert len(data) > 16 * CHUNK_SIZE
    upload = make_pending(user, name="rug.png", data=data, kind="image")
    crash_after_the_write_and_lose_the_temporary_file(upload, vercel_blob_storage)

    tracemalloc.start()
    try:
        result = upload_promote(upload_id=upload.pk, storage=vercel_blob_storage)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.status == "complete"
    assert stored_thumbnail(upload, vercel_blob_storage).size == (300, 200)
    # Checksum and thumbnail read the object chunk by chunk (the reader's buffers come to about four
    # chunks, whatever the size): the ~18 MB photo is never held whole in memory.
    assert peak < 8 * CHUNK_SIZE, f"peak {peak} bytes for a {len(data)}-byte photo"
