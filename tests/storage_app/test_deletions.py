"""The deferred-delete ledger (StoredFile records `deleting`) and its one retry path, storage_app.deletions.

Outages are real: the local Vercel Blob server refuses connections, nanio is stopped.
"""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from storage_app import locations
from storage_app.deletions import deletions_retry
from storage_app.models import StoredFile
from tests.storage_app.fallback_support import chain


def blobs(server) -> list[str]:
    found, _, _ = server.store.list(prefix="", limit=1000, cursor=None, folded=False)
    return sorted(blob.pathname for blob in found)


def make_due() -> None:
    """As if every record's backoff delay had passed."""
    StoredFile.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def seconds_until(record: StoredFile) -> float:
    return (record.next_attempt_at - timezone.now()).total_seconds()


@pytest.mark.django_db
def test_a_delete_while_the_backend_is_down_is_retried_on_schedule_and_finished_when_it_is_back(vercel_blob, tmp_path):
    storage = chain(vercel=vercel_blob, local=tmp_path / "local")
    name = storage.save("docs/a.txt", ContentFile(b"to be deleted"))
    assert storage.backend_of(name) == "vercel"
    vercel_blob.refuse_connections()

    storage.delete(name)  # does not raise: the record keeps the delete
    assert not storage.exists(name)
    record = StoredFile.objects.get(name=name)
    assert (record.state, record.backend, record.attempts) == ("deleting", "vercel", 1)
    assert record.last_error.startswith("vercel: ")
    assert 50 < seconds_until(record) <= 60  # DELETE_RETRY: 60 s after the first failure

    assert deletions_retry(storage=storage).as_dict() == {"finished": [], "pending": []}  # not due yet
    make_due()
    assert deletions_retry(storage=storage).pending == [name]  # still down
    record.refresh_from_db()
    assert record.attempts == 2
    assert 110 < seconds_until(record) <= 120  # doubled
    assert blobs(vercel_blob) == [name]

    vercel_blob.accept_connections()
    assert deletions_retry(storage=storage).pending == []  # back, but not due: the schedule is kept
    assert blobs(vercel_blob) == [name]
    make_due()
    assert deletions_retry(storage=storage).finished == [name]
    assert blobs(vercel_blob) == []
    assert StoredFile.objects.count() == 0
    assert storage.get_available_name(name) == name  # the name is free again


@pytest.mark.django_db
def test_the_backoff_is_capped_at_six_hours(s3_outage_peer, tmp_path):
    storage = chain(s3=s3_outage_peer, local=tmp_path / "local")
    name = storage.save("docs/b.txt", ContentFile(b"b"))
    s3_outage_peer.server.stop()
    storage.delete(name)
    StoredFile.objects.filter(name=name).update(attempts=40, next_attempt_at=timezone.now())
    assert deletions_retry(storage=storage).pending == [name]
    record = StoredFile.objects.get(name=name)
    assert record.attempts == 41
    assert 6 * 3600 - 10 < seconds_until(record) <= 6 * 3600


@pytest.mark.django_db
def test_a_record_is_claimed_once_and_a_claim_nobody_finishes_comes_due_again(tmp_path):
    for index in range(3):
        StoredFile.objects.create(name=f"docs/{index}.txt", backend="local", state="deleting")
    StoredFile.objects.create(name="docs/kept.txt", backend="local", state="stored", size=1, checksum="0" * 64)

    first = locations.locations_claim_deleting(limit=2)
    assert [record.name for record in first] == ["docs/0.txt", "docs/1.txt"]
    second = locations.locations_claim_deleting()
    assert [record.name for record in second] == ["docs/2.txt"]  # the first caller's records are not due
    assert locations.locations_claim_deleting() == []
    # A caller that died after claiming: its records are due after the delay of one more failure.
    for record in StoredFile.objects.filter(state="deleting"):
        assert 50 < seconds_until(record) <= 60
    # Reconcile takes every deleting record, due or not.
    assert len(locations.locations_claim_deleting(due_only=False)) == 3


@pytest.mark.django_db
def test_a_refused_delete_keeps_its_error_and_is_retried(tmp_path, settings):
    # A non-empty directory where the file should be: the local disk itself refuses the delete.
    storage = chain(local=tmp_path / "local")
    stuck = tmp_path / "local" / "docs" / "stuck"
    stuck.mkdir(parents=True)
    (stuck / "inside").write_bytes(b"x")
    StoredFile.objects.create(name="docs/stuck", backend="local", state="stored", size=1, checksum="0" * 64)
    with pytest.raises(OSError, match="not empty"):
        storage.delete("docs/stuck")
    record = StoredFile.objects.get(name="docs/stuck")
    assert (record.state, record.attempts) == ("deleting", 1)
    assert record.last_error.startswith("local: ")

    make_due()
    assert deletions_retry(storage=storage).pending == ["docs/stuck"]
    assert StoredFile.objects.get(name="docs/stuck").attempts == 2
    (stuck / "inside").unlink()
    stuck.rmdir()
    make_due()
    assert deletions_retry(storage=storage).finished == ["docs/stuck"]
    assert StoredFile.objects.count() == 0
