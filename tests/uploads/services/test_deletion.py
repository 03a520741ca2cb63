"""Files go only after the commit, and a delete that fails is retried, not forgotten.

DownForDeletes stands in for a backend whose delete fails; the real outage path (a stopped
server behind FallbackStorage) is covered by the fallback suite.
"""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.utils import timezone

from storage_app.exceptions import StorageConnectionError
from storage_app.models import PendingDeletion
from uploads.services.deletion import files_delete_on_commit, pending_deletions_retry


class DownForDeletes(FileSystemStorage):
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
def test_failed_delete_is_recorded_and_retried_until_it_works(store):
    down = DownForDeletes(location=store.location)
    files_delete_on_commit(["documents/1/1/a.txt"], storage=down)
    pending = PendingDeletion.objects.get(name="documents/1/1/a.txt")
    assert pending.attempts == 1
    assert "connection refused" in pending.last_error
    assert pending.next_attempt_at > timezone.now()

    # Not due yet: left alone.
    assert pending_deletions_retry(storage=store) == ([], [])
    PendingDeletion.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert pending_deletions_retry(storage=down) == ([], ["documents/1/1/a.txt"])
    assert PendingDeletion.objects.get().attempts == 2

    PendingDeletion.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert pending_deletions_retry(storage=store) == (["documents/1/1/a.txt"], [])
    assert not store.exists("documents/1/1/a.txt")
    assert PendingDeletion.objects.count() == 0
