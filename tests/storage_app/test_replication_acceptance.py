"""Issue #19's acceptance: copies on a second backend, reads that fail over, scrub, through the real peers.

The configured chain (STORAGES["default"]: the local Vercel Blob server → nanio → local disk) with
STORAGE_REPLICAS=2, uploads through POST /api/uploads/, downloads through the API; the replication
task runs in a real Celery worker on a real Redis in the first test, in-process (no broker) in the others.
"""

import hashlib
import time
from io import StringIO

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from storage_app.backends.vercel_blob.storage import VercelBlobStorage
from storage_app.deletions import deletions_retry
from storage_app.health import health_cache_clear
from storage_app.models import StoredFile, StoredFileReplica
from storage_app.replication import replicas_catch_up
from storage_app.services.relocation import storage_reconcile
from tests.peers.vercel_blob import storage_options
from tests.storage_app.fallback_support import vercel_env
from tests.storage_app.test_failover_acceptance import blob_sha256, blobs, download, upload
from tests.uploads.files import image_bytes
from uploads.models import UploadTracking


@pytest.fixture
def replicated(settings, vercel_blob_settings, s3_outage_peer):
    """The configured chain vercel → s3 → local, two copies of each file."""
    for key, value in s3_outage_peer.settings().items():
        setattr(settings, key, value)
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGE_REPLICAS = 2
    settings.STORAGE_HEALTH_CACHE_SECONDS = 0
    settings.STORAGES = dict(settings.STORAGES)
    health_cache_clear()
    yield settings
    health_cache_clear()


def copies(name: str) -> dict[str, str]:
    record = StoredFile.objects.get(name=name)
    return {record.backend: "home", **dict(record.replicas.values_list("backend", "state"))}


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def thumbnail(api, row: UploadTracking) -> bytes:
    response = api.get(reverse("inventory-item-thumbnail", args=[row.inventory_item_id]))
    assert response.status_code == 200, getattr(response, "content", b"")[:200]
    return b"".join(response.streaming_content)


def scrub(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("scrub_storage", "--no-progress", *args, stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue()
    return 0, out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_with_vercel_blob_stopped_every_file_stored_before_is_served_with_its_bytes(
    replicated, api, vercel_blob, s3_outage_peer, celery_worker_process
):
    celery_worker_process.start(
        STORAGE_BACKEND="vercel", STORAGE_REPLICAS="2", **vercel_env(vercel_blob), **s3_outage_peer.env()
    )
    contents = {"terms": b"Net 30 days.\n" * 100, "photo": image_bytes("PNG", size=(640, 480))}
    terms = upload(api, "terms.txt", contents["terms"], "document")
    photo = upload(api, "stool.png", contents["photo"], "image")
    rows = [terms, photo]

    def replicated_everywhere() -> bool:
        done = UploadTracking.objects.filter(pk__in=[r.pk for r in rows], status="complete").count() == 2
        return done and StoredFileReplica.objects.filter(state="verified").count() == 3  # two files + a thumbnail

    wait_for(replicated_everywhere, what="promotion and replication by the worker")
    assert "storage_app.replicate_file" in celery_worker_process.log()
    for row in rows:
        row.refresh_from_db()
        assert copies(row.permanent_name) == {"vercel": "home", "s3": "verified"}
        assert hashlib.sha256(s3_outage_peer.read(row.permanent_name)).hexdigest() == row.checksum
    photo_thumb = thumbnail(api, photo)

    vercel_blob.refuse_connections()
    started = time.perf_counter()
    assert download(api, terms) == contents["terms"]
    assert download(api, photo) == contents["photo"]
    assert thumbnail(api, photo) == photo_thumb
    assert default_storage.open(terms.permanent_name).read() == contents["terms"]
    assert default_storage.size(photo.permanent_name) == len(contents["photo"])
    assert time.perf_counter() - started < 5, "reads fail over at once, without the retry budget"
    # The breaker is open by now: URLs are the replica's, presigned by S3, and they serve the bytes.
    assert default_storage.breakers.get("vercel").is_open()
    url = default_storage.url(terms.permanent_name)
    assert url.startswith(f"{s3_outage_peer.server.endpoint}/{s3_outage_peer.bucket}/")
    assert requests.get(url, timeout=10).content == contents["terms"]
    # The upload rows say where the files live: the location records, not a stale column.
    listing = api.get(reverse("upload-list")).json()
    assert {row["permanent_backend"] for row in listing["results"]} == {"vercel"}


@pytest.mark.django_db(transaction=True)
def test_scrub_finds_and_repairs_a_copy_deleted_behind_the_apps_back_and_a_corrupted_one(
    replicated, api, vercel_blob, s3_outage_peer
):
    data = b"Stools ship in crates of twelve.\n" * 50
    row = upload(api, "crates.txt", data, "document")
    row.refresh_from_db()
    name = row.permanent_name
    assert copies(name) == {"vercel": "home", "s3": "verified"}
    assert scrub("--json")[0] == 0

    # 1. The replica on S3 deleted behind the app's back.
    s3_outage_peer.client().delete_object(Bucket=s3_outage_peer.bucket, Key=name)
    code, out = scrub()
    assert code == 1
    assert f"missing: {name} on s3" in out
    assert copies(name)["s3"] == "bad"  # no read goes there meanwhile
    code, out = scrub("--repair")
    assert code == 0, out
    assert hashlib.sha256(s3_outage_peer.read(name)).hexdigest() == row.checksum
    assert copies(name) == {"vercel": "home", "s3": "verified"}

    # 2. The home copy on Vercel Blob corrupted (same name, other bytes).
    vercel = VercelBlobStorage(**storage_options(vercel_blob))
    vercel.delete(name)
    vercel.save(name, ContentFile(b"rotten bits"))
    code, out = scrub("--json")
    assert code == 1
    assert f"{name} on vercel" in out
    code, out = scrub("--repair", "--json")
    assert code == 0, out
    assert blob_sha256(vercel_blob, name) == row.checksum
    # Readers got the good copy from the moment it was found; both copies are verified again.
    assert copies(name) == {"s3": "home", "vercel": "verified"}
    assert download(api, row) == data
    # Reconcile brings the home back to the primary without copying anything (the copy is verified).
    vercel_blob.reset_counts()
    report = storage_reconcile()
    assert report.moved == [name]
    assert vercel_blob.counts.get("put", 0) == 1  # the health probe's object only
    assert copies(name) == {"vercel": "home", "s3": "verified"}
    assert scrub("--sample", "1")[0] == 0


@pytest.mark.django_db(transaction=True)
def test_a_delete_removes_every_copy_later_on_a_backend_that_was_down(replicated, api, vercel_blob, s3_outage_peer):
    row = upload(api, "gone.txt", b"short-lived", "document")
    row.refresh_from_db()
    name = row.permanent_name
    assert copies(name) == {"vercel": "home", "s3": "verified"}
    s3_outage_peer.server.kill()
    default_storage.delete(name)
    assert not default_storage.exists(name)
    assert blobs(vercel_blob) == []
    record = StoredFile.objects.get(name=name)
    assert (record.state, record.backend) == ("deleting", "s3")
    s3_outage_peer.server.restart()
    assert deletions_retry(due_only=False).finished == [name]
    assert s3_outage_peer.keys() == []
    assert not StoredFile.objects.exists()
    assert not StoredFileReplica.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_files_written_during_an_outage_get_their_copies_and_reconcile_keeps_the_count(
    replicated, api, vercel_blob, s3_outage_peer
):
    vercel_blob.refuse_connections()
    row = upload(api, "late.txt", b"written while Vercel Blob was down", "document")
    row.refresh_from_db()
    name = row.permanent_name
    assert copies(name) == {"s3": "home", "vercel": "copying"}  # the copy failed; its row stays
    vercel_blob.accept_connections()
    replicated.STORAGES = dict(replicated.STORAGES)  # closed breakers
    StoredFileReplica.objects.update(next_attempt_at=None)  # due now rather than after the backoff
    assert replicas_catch_up().copied == [f"{name} → vercel"]
    assert copies(name) == {"s3": "home", "vercel": "verified"}
    vercel_blob.reset_counts()
    assert storage_reconcile().moved == [name]
    assert vercel_blob.counts.get("put", 0) == 1  # the health probe's object: the verified copy became the home
    assert copies(name) == {"vercel": "home", "s3": "verified"}
    assert sorted(s3_outage_peer.keys()) == [name]
    assert blobs(vercel_blob) == [name]
    assert download(api, row) == b"written while Vercel Blob was down"
    # One source of truth: the API reads the location record, not the column promotion wrote.
    row.refresh_from_db()
    assert row.permanent_backend == "s3"
    assert api.get(reverse("upload-detail", args=[row.pk])).json()["permanent_backend"] == "vercel"
    assert api.get(reverse("upload-list")).json()["results"][0]["permanent_backend"] == "vercel"
