"""Migration 0007 carries every PendingDeletion row into the one ledger (StoredFile records `deleting`).

The database is migrated back to storage_app 0005 (PendingDeletion still a model), rows are written
through the historical models of that point, and the database is migrated forward to the latest
migrations; the records are checked, and the table storage_pending_deletion keeps its rows.
"""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from storage_app.deletions import deletions_retry
from storage_app.models import StoredFile
from tests.storage_app.fallback_support import chain, local_files, local_storage

BEFORE = ("storage_app", "0005_delete_uploadtracking")


def blobs(server) -> list[str]:
    found, _, _ = server.store.list(prefix="", limit=1000, cursor=None, folded=False)
    return sorted(blob.pathname for blob in found)


def pending_table_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, attempts FROM storage_pending_deletion ORDER BY name")
        return cursor.fetchall()


def migrate_to_latest(executor: MigrationExecutor) -> None:
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    executor.loader.build_graph()


@pytest.fixture
def old_database(transactional_db):
    """The database at storage_app 0005 (the historical models' registry); at the latest again afterwards."""
    executor = MigrationExecutor(connection)
    if BEFORE not in executor.loader.graph.nodes:
        pytest.skip("migrations are disabled (--nomigrations)")
    executor.migrate([BEFORE])
    executor.loader.build_graph()
    try:
        yield executor, executor.loader.project_state([BEFORE]).apps
    finally:
        migrate_to_latest(executor)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE storage_pending_deletion")  # no model knows the table: not flushed


@pytest.mark.django_db(transaction=True)
def test_pending_deletions_become_deleting_records_and_their_table_keeps_its_rows(old_database):
    executor, old = old_database
    pending_deletion = old.get_model("storage_app", "PendingDeletion")
    stored_file = old.get_model("storage_app", "StoredFile")
    now = timezone.now()
    stored = {"size": 1, "checksum": "0" * 64}

    stored_file.objects.create(name="docs/stored.txt", backend="s3", state="stored", **stored)
    stored_file.objects.create(name="docs/deleting.txt", backend="s3", state="deleting", **stored)
    stored_file.objects.create(name="docs/untouched.txt", backend="local", state="stored", **stored)
    rows = {
        "docs/unrecorded.txt": (3, "StorageTimeout: slow", now + timedelta(minutes=4)),
        "docs/stored.txt": (1, "StorageConnectionError: refused", now + timedelta(minutes=1)),
        "docs/deleting.txt": (5, "StorageServiceError: 503", now + timedelta(minutes=16)),
        "docs/reused.txt": (2, "StorageAccessDenied: no", now - timedelta(minutes=1)),
    }
    for name, (attempts, error, next_attempt_at) in rows.items():
        pending_deletion.objects.create(name=name, attempts=attempts, last_error=error, next_attempt_at=next_attempt_at)
    # A newer file took the name once the old one was gone: its record is younger than the pending row.
    pending_deletion.objects.filter(name="docs/reused.txt").update(created_at=now - timedelta(days=1))
    stored_file.objects.create(name="docs/reused.txt", backend="local", state="stored", **stored)

    migrate_to_latest(executor)

    records = {record.name: record for record in StoredFile.objects.all()}
    assert sorted(records) == [
        "docs/deleting.txt",
        "docs/reused.txt",
        "docs/stored.txt",
        "docs/unrecorded.txt",
        "docs/untouched.txt",
    ]
    unrecorded = records["docs/unrecorded.txt"]
    # No record said where it was: every backend is tried.
    assert (unrecorded.state, unrecorded.backend, unrecorded.moving_to, unrecorded.leftover_on) == (
        "deleting",
        "vercel",
        "s3",
        "local",
    )
    assert (unrecorded.attempts, unrecorded.last_error, unrecorded.next_attempt_at) == rows["docs/unrecorded.txt"]
    was_stored = records["docs/stored.txt"]
    assert (was_stored.state, was_stored.backend) == ("deleting", "s3")
    assert (was_stored.attempts, was_stored.last_error, was_stored.next_attempt_at) == rows["docs/stored.txt"]
    was_deleting = records["docs/deleting.txt"]
    assert (was_deleting.state, was_deleting.backend, was_deleting.attempts) == ("deleting", "s3", 5)
    assert was_deleting.last_error == "StorageServiceError: 503"
    assert was_deleting.next_attempt_at is None  # was already owed: due at once
    assert records["docs/reused.txt"].state == "stored"  # the newer file is not deleted
    assert (records["docs/untouched.txt"].state, records["docs/untouched.txt"].attempts) == ("stored", 0)

    # The old table is kept with every row, and nothing writes it any more.
    assert pending_table_rows() == sorted((name, attempts) for name, (attempts, _, _) in rows.items())


@pytest.mark.django_db(transaction=True)
def test_a_carried_over_delete_of_unknown_location_is_finished_on_every_backend(
    old_database, vercel_blob, s3_peer, tmp_path
):
    executor, old = old_database
    old.get_model("storage_app", "PendingDeletion").objects.create(
        name="docs/lost.txt", attempts=1, next_attempt_at=timezone.now()
    )
    migrate_to_latest(executor)

    # Objects of that name on every backend, written behind the records' back.
    chain(vercel=vercel_blob).backend("vercel").storage.save("docs/lost.txt", ContentFile(b"v"))
    s3_peer.put("docs/lost.txt", b"s")
    local_storage(tmp_path / "local").save("docs/lost.txt", ContentFile(b"l"))

    storage = chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")
    assert deletions_retry(storage=storage).finished == ["docs/lost.txt"]
    assert blobs(vercel_blob) == []
    assert s3_peer.keys() == []
    assert local_files(tmp_path / "local") == []
    assert StoredFile.objects.count() == 0
