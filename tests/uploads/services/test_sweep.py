import os
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from tests.uploads.services.test_promotion import make_pending
from uploads.models import UploadTracking
from uploads.services.sweep import uploads_sweep
from uploads.services.temporary import write_temporary


def age(path: Path, seconds: int) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def leftovers(user, settings):
    """One of everything the sweep must find, and one of everything it must leave alone."""
    temp_root = Path(settings.TEMP_UPLOAD_ROOT)
    stale = make_pending(user, name="stale.txt", data=b"stale", kind="document")
    UploadTracking.objects.filter(pk=stale.pk).update(
        status="processing", processing_started_at=timezone.now() - timedelta(hours=2)
    )
    fresh = make_pending(user, name="fresh.txt", data=b"fresh", kind="document")
    orphan_temp = write_temporary([b"nobody"], max_size=100)
    age(orphan_temp.path, 7200)
    age(temp_root / stale.temp_path, 7200)  # old, but its upload is unfinished: kept
    default_storage.save("documents/1/999999/orphan.txt", ContentFile(b"orphan"))
    age(Path(settings.LOCAL_STORAGE_ROOT) / "documents/1/999999/orphan.txt", 7200)
    default_storage.save(f"documents/{user.pk}/{fresh.pk}/fresh.txt", ContentFile(b"fresh"))  # in flight: kept
    age(Path(settings.LOCAL_STORAGE_ROOT) / f"documents/{user.pk}/{fresh.pk}/fresh.txt", 7200)
    return {"stale": stale, "fresh": fresh, "orphan_temp": orphan_temp.name}


@pytest.mark.django_db(transaction=True)
def test_dry_run_lists_and_changes_nothing(leftovers, settings):
    report = uploads_sweep(dry_run=True, grace=3600, stale_after=900)
    assert report.requeued == [leftovers["stale"].pk]
    assert report.temporary_removed == [leftovers["orphan_temp"]]
    assert report.objects_removed == ["documents/1/999999/orphan.txt"]
    assert (Path(settings.TEMP_UPLOAD_ROOT) / leftovers["orphan_temp"]).exists()
    assert default_storage.exists("documents/1/999999/orphan.txt")
    assert UploadTracking.objects.get(pk=leftovers["stale"].pk).status == "processing"


@pytest.mark.django_db(transaction=True)
def test_sweep_requeues_and_removes(leftovers, settings):
    report = uploads_sweep(grace=3600, stale_after=900)
    assert report.requeued == [leftovers["stale"].pk]
    # Tasks run in-process on the embedded defaults, so the stale upload is finished by now.
    stale = UploadTracking.objects.get(pk=leftovers["stale"].pk)
    assert stale.status == "complete"
    assert stale.attempts == 1
    assert not (Path(settings.TEMP_UPLOAD_ROOT) / leftovers["orphan_temp"]).exists()
    assert not default_storage.exists("documents/1/999999/orphan.txt")
    fresh = leftovers["fresh"]
    assert (Path(settings.TEMP_UPLOAD_ROOT) / fresh.temp_path).exists()
    assert UploadTracking.objects.get(pk=fresh.pk).status == "pending"
    # A second sweep finds nothing more to do.
    again = uploads_sweep(grace=3600, stale_after=900)
    assert again.requeued == []
    assert again.temporary_removed == []
    assert again.objects_removed == []


@pytest.mark.django_db(transaction=True)
def test_young_leftovers_are_kept_for_the_grace_period(user, settings):
    orphan = write_temporary([b"just written"], max_size=100)
    default_storage.save("documents/1/424242/new.txt", ContentFile(b"new"))
    report = uploads_sweep(grace=3600, stale_after=900)
    assert report.temporary_removed == []
    assert report.objects_removed == []
    assert orphan.path.exists()


@pytest.mark.django_db(transaction=True)
def test_command_prints_a_summary(leftovers):
    out = StringIO()
    call_command("sweep_uploads", "--dry-run", stdout=out)
    text = out.getvalue()
    assert f"would re-queue upload {leftovers['stale'].pk}" in text
    assert "would remove orphaned object documents/1/999999/orphan.txt" in text
    assert text.strip().endswith("1 re-queued, 1 temporary files and 1 objects removed (dry run)")


@pytest.mark.django_db(transaction=True)
def test_objects_no_record_accounts_for_under_the_kinds_folders_are_removed_too(user, settings):
    # The sweep's walk is the storage library's orphan walk (reconcile_storage --orphans walks with it
    # too): it lists the backends, so an object whose promotion's transaction rolled back is found.
    root = Path(settings.LOCAL_STORAGE_ROOT)
    for name in ("documents/1/888/rolled-back.txt", "users/1/888/not-a-kind-with-rows.txt"):
        (root / name).parent.mkdir(parents=True)
        (root / name).write_bytes(b"no record")
        age(root / name, 7200)
    (root / "documents/1/889/young.txt").parent.mkdir(parents=True)
    (root / "documents/1/889/young.txt").write_bytes(b"no record yet")
    report = uploads_sweep(grace=3600, stale_after=900)
    assert report.objects_removed == ["documents/1/888/rolled-back.txt"]
    assert not (root / "documents/1/888/rolled-back.txt").exists()
    assert (root / "documents/1/889/young.txt").exists()  # within the grace period
    assert (root / "users/1/888/not-a-kind-with-rows.txt").exists()  # outside the folders the sweep walks


@pytest.mark.django_db(transaction=True)
def test_a_pending_upload_whose_message_was_lost_is_requeued_after_upload_requeue_after(user, settings):
    from uploads.services.sweep import uploads_requeue

    assert settings.UPLOAD_REQUEUE_AFTER <= 120
    lost = make_pending(user, name="lost.txt", data=b"lost message", kind="document")
    young = make_pending(user, name="young.txt", data=b"just queued", kind="document")
    UploadTracking.objects.filter(pk=lost.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.UPLOAD_REQUEUE_AFTER + 1)
    )
    assert uploads_requeue() == [lost.pk]  # tasks run in-process: promoted by now
    assert UploadTracking.objects.get(pk=lost.pk).status == "complete"
    assert UploadTracking.objects.get(pk=young.pk).status == "pending"
    assert uploads_requeue() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_requeues_promote_an_upload_once(user, settings):
    import threading

    from django.db import connections

    from storage_app.models import StoredFile
    from uploads.services.promotion import upload_promote

    upload = make_pending(user, name="twice.txt", data=b"queued twice", kind="document")
    results, barrier = [], threading.Barrier(4)

    def promote() -> None:
        barrier.wait()
        try:
            results.append(upload_promote(upload_id=upload.pk).status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=promote) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results.count("complete") == 1, results
    assert set(results) <= {"complete", "busy", "already_complete"}
    row = UploadTracking.objects.get(pk=upload.pk)
    assert (row.status, row.attempts) == ("complete", 1)
    assert StoredFile.objects.filter(name__startswith=f"documents/{user.pk}/{upload.pk}/").count() == 1
