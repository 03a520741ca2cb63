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
