"""Files go only after the commit, and a delete a backend could not take is retried, not forgotten.

The ledger of deferred deletes is the storage library's (StoredFile records `deleting`); the
outage here is a real one: the S3 server behind FallbackStorage is stopped.
"""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.utils import timezone

from storage_app.exceptions import StorageConnectionError
from storage_app.models import StoredFile
from tests.storage_app.fallback_support import chain
from uploads.services.deletion import files_delete_now, files_delete_on_commit
from uploads.services.sweep import uploads_sweep


class DownForDeletes(FileSystemStorage):
    """A storage of another kind than FallbackStorage whose deletes fail."""

    def delete(self, name):
        raise StorageConnectionError("connection refused", backend="test")


@pytest.fixture
def store(tmp_path):
    storage = FileSystemStorage(location=tmp_path / "store")
    storage.save("documents/1/1/a.txt", ContentFile(b"a"))
    return storage


@pytest.mark.django_db(transaction=True)
def test_nothing_is_deleted_when_the_transaction_rolls_back(store):
    def caller():
        with transaction.atomic():
            files_delete_on_commit(["documents/1/1/a.txt"], storage=store)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        caller()
    assert store.exists("documents/1/1/a.txt")


@pytest.mark.django_db(transaction=True)
def test_deleted_after_commit(store):
    with transaction.atomic():
        files_delete_on_commit(["documents/1/1/a.txt"], storage=store)
        assert store.exists("documents/1/1/a.txt")
    assert not store.exists("documents/1/1/a.txt")


@pytest.mark.django_db(transaction=True)
def test_a_failed_delete_on_another_kind_of_storage_is_logged(store, caplog):
    down = DownForDeletes(location=store.location)
    assert files_delete_now(["documents/1/1/a.txt"], storage=down) == ["documents/1/1/a.txt"]
    assert "could not delete documents/1/1/a.txt now" in caplog.text
    assert StoredFile.objects.count() == 0  # no ledger outside FallbackStorage


def make_due() -> None:
    """As if the record's backoff delay had passed."""
    StoredFile.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db(transaction=True)
def test_a_delete_while_the_backend_is_down_is_retried_by_the_sweep_until_it_is_back(s3_outage_peer, tmp_path):
    storage = chain(s3=s3_outage_peer, local=tmp_path / "local")
    name = storage.save("documents/1/1/a.txt", ContentFile(b"a"))
    s3_outage_peer.server.stop()
    files_delete_on_commit([name], storage=storage)  # outside a transaction: at once

    record = StoredFile.objects.get(name=name)
    assert (record.state, record.backend, record.attempts) == ("deleting", "s3", 1)
    assert "s3: Storage" in record.last_error
    assert timezone.now() + timedelta(seconds=50) < record.next_attempt_at < timezone.now() + timedelta(seconds=61)
    assert not storage.exists(name)

    # Not due yet: the sweep leaves it alone.
    report = uploads_sweep(storage=storage, grace=3600)
    assert (report.deletions_retried, report.deletions_failing) == ([], [])
    assert StoredFile.objects.get(name=name).attempts == 1

    make_due()  # still down: one more failure, the next retry twice as far away
    report = uploads_sweep(storage=storage, grace=3600)
    assert (report.deletions_retried, report.deletions_failing) == ([], [name])
    record = StoredFile.objects.get(name=name)
    assert record.attempts == 2
    assert timezone.now() + timedelta(seconds=110) < record.next_attempt_at < timezone.now() + timedelta(seconds=121)

    s3_outage_peer.server.restart()
    make_due()
    report = uploads_sweep(storage=storage, grace=3600)
    assert (report.deletions_retried, report.deletions_failing) == ([name], [])
    assert s3_outage_peer.keys() == []
    assert StoredFile.objects.count() == 0
