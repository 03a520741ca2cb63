"""location_read_order: the record a read starts from and the backends to read it from, in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storage_app import locations
from storage_app.models import ReplicaState, StoredFile, StoredFileReplica, StoredFileState


def stored(name: str, backend: str = "vercel", state: str = StoredFileState.STORED) -> StoredFile:
    return StoredFile.objects.create(name=name, backend=backend, state=state, size=1, checksum="0" * 64)


@pytest.mark.django_db
def test_the_home_comes_first_then_only_verified_replicas_in_one_query():
    record = stored("reads/a.bin", backend="vercel")
    StoredFileReplica.objects.create(stored_file=record, backend="s3", state=ReplicaState.VERIFIED)
    StoredFileReplica.objects.create(stored_file=record, backend="local", state=ReplicaState.VERIFIED)
    StoredFileReplica.objects.create(stored_file=record, backend="other", state=ReplicaState.COPYING)
    bad = stored("reads/b.bin", backend="s3")
    StoredFileReplica.objects.create(stored_file=bad, backend="vercel", state=ReplicaState.BAD)

    with CaptureQueriesContext(connection) as queries:
        found = locations.location_read_order("reads/a.bin")
    assert len(queries.captured_queries) == 1, queries.captured_queries
    assert found is not None
    found_record, aliases = found
    assert isinstance(found_record, StoredFile)
    assert (found_record.pk, found_record.name, found_record.backend) == (record.pk, "reads/a.bin", "vercel")
    assert found_record.created_at == record.created_at  # a whole record, its fields converted
    assert aliases == ["vercel", "local", "s3"]  # home first, then the verified replicas by alias

    assert locations.location_read_order("reads/b.bin")[1] == ["s3"]  # a bad copy is never read


@pytest.mark.django_db
def test_a_name_not_stored_has_no_read_order_and_the_name_is_a_parameter():
    stored("reads/writing.bin", state=StoredFileState.WRITING)
    stored("reads/deleting.bin", state=StoredFileState.DELETING)
    stored('reads/it\'s "quoted" %s.bin')

    assert locations.location_read_order("reads/writing.bin") is None
    assert locations.location_read_order("reads/deleting.bin") is None
    assert locations.location_read_order("reads/missing.bin") is None
    # The statement is compiled once and reused: each call binds its own name, quotes and all.
    assert locations.location_read_order('reads/it\'s "quoted" %s.bin')[1] == ["vercel"]
    assert locations.location_read_order("reads/a.bin") is None
