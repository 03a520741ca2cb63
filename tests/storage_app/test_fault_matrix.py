"""The fault matrix: two backends x {refused, hung, 503, cut mid-body} x {save, open, delete, reconcile, scrub}.

A chain of the real peers (the local Vercel Blob server → nanio behind a fault proxy → local disk),
two copies of every file. Each cell stores files while everything is healthy, breaks one backend,
runs one operation, heals the backend and runs what production runs afterwards (reconcile, the
replication catch-up, the orphan walk). Then nothing is lost (every live file reads back its bytes
from two verified copies), nothing deleted survives, and no backend holds an object that no record
accounts for. Timeouts are short (STORAGE_FAILOVER_TIMEOUT 0.25 s, a 0.6 s hang) and the five
operations of one backend and fault share a test (one database and one set of peers), so the matrix stays fast.
"""

import time

import pytest
from django.core.files.base import ContentFile

from storage_app.exceptions import StorageError
from storage_app.fallback import FallbackStorage
from storage_app.models import StoredFile, StoredFileReplica
from storage_app.orphans import orphans_sweep
from storage_app.replication import replicas_catch_up
from storage_app.scrub import storage_scrub
from storage_app.services.relocation import storage_reconcile
from tests.peers.fault_proxy import FaultProxy
from tests.storage_app.fallback_support import local_files, local_storage, vercel_storage
from tests.storage_app.test_failover_acceptance import blobs

FAULTS = ["refused", "hung", "503", "cut"]
OPERATIONS = ["save", "open", "delete", "reconcile", "scrub"]
HANG = 0.6


@pytest.fixture
def rig(db, settings, vercel_blob, s3_peer, tmp_path):
    settings.STORAGE_FAILOVER_TIMEOUT = 0.25
    settings.STORAGE_HEALTH_PROBE_TIMEOUT = 1.0
    settings.AWS_S3_MAX_ATTEMPTS = 2
    host, port = s3_peer.server.endpoint.removeprefix("http://").split(":")
    proxy = FaultProxy(host, int(port))
    storage = FallbackStorage(
        [
            ("vercel", vercel_storage(vercel_blob, read_timeout=3.0)),
            ("s3", s3_peer.storage(endpoint_url=proxy.endpoint)),
            ("local", local_storage(tmp_path / "local")),
        ],
        replicas=2,
    )
    yield storage, proxy, tmp_path / "local"
    proxy.close()


def break_backend(backend: str, fault: str, vercel_blob, proxy: FaultProxy) -> None:
    if backend == "s3":
        proxy.mode = {"refused": "refuse", "hung": "hang", "503": "503", "cut": "cut"}[fault]
    elif fault == "refused":
        vercel_blob.refuse_connections()
    elif fault == "hung":
        vercel_blob.faults.slow(HANG)
    elif fault == "503":
        vercel_blob.faults.fail(503)
    else:
        vercel_blob.faults.cut(8)


def heal(backend: str, fault: str, vercel_blob, proxy: FaultProxy) -> None:
    proxy.clear()
    vercel_blob.faults.clear()
    vercel_blob.accept_connections()
    if fault == "hung" and backend == "vercel":
        time.sleep(HANG + 0.2)  # requests the server was still holding finish (and may have stored)


def run(operation: str, storage: FallbackStorage, files: dict[str, bytes], deleted: set[str]) -> None:
    """The operation under the fault: it may fail with a storage error, but must not lose anything."""
    first = sorted(files)[0]
    try:
        if operation == "save":
            name = storage.save(f"matrix/{operation}/during.txt", ContentFile(b"saved during the fault"))
            files[name] = b"saved during the fault"
        elif operation == "open":
            for name, data in files.items():
                try:
                    with storage.open(name) as handle:
                        assert handle.read() == data  # right bytes or an error, never wrong bytes
                except StorageError:
                    pass
        elif operation == "delete":
            storage.delete(first)
            deleted.add(first)
            files.pop(first)
        elif operation == "reconcile":
            storage_reconcile(storage=storage)
        else:
            storage_scrub(storage=storage, repair=True)
    except StorageError:
        if operation == "delete":  # the record is deleting whatever the backends said
            deleted.add(first)
            files.pop(first, None)


def recover(storage: FallbackStorage) -> None:
    storage.breakers.clear()
    StoredFileReplica.objects.update(next_attempt_at=None)
    StoredFile.objects.update(next_attempt_at=None)
    report = storage_reconcile(storage=storage)
    assert report.ok, report.failed
    replicas_catch_up(storage=storage)
    orphans = orphans_sweep(storage=storage, grace=0)
    assert not orphans.unreachable, orphans.unreachable


def recorded_copies() -> set[tuple[str, str]]:
    copies = {(record.backend, record.name) for record in StoredFile.objects.all()}
    copies |= {(replica.backend, replica.stored_file.name) for replica in StoredFileReplica.objects.select_related()}
    return copies


def objects(vercel_blob, s3_peer, local_root) -> set[tuple[str, str]]:
    found = {("vercel", name) for name in blobs(vercel_blob)}
    found |= {("s3", name) for name in s3_peer.keys(prefix="")}
    found |= {("local", name) for name in local_files(local_root)} if local_root.exists() else set()
    return found


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("backend", ["vercel", "s3"])
@pytest.mark.django_db(transaction=True)
def test_nothing_is_lost_and_nothing_is_left_behind(rig, vercel_blob, s3_peer, backend, fault):
    storage, proxy, local_root = rig
    files: dict[str, bytes] = {}
    deleted: set[str] = set()
    for operation in OPERATIONS:
        before = {}
        for index in range(2):
            data = f"file {index} before {operation}\n".encode() * 40
            before[storage.save(f"matrix/{operation}/{index}.txt", ContentFile(data))] = data
        for name in before:
            assert copies(name) == {"vercel": "home", "s3": "verified"}, (operation, name)

        break_backend(backend, fault, vercel_blob, proxy)
        run(operation, storage, before, deleted)
        heal(backend, fault, vercel_blob, proxy)
        recover(storage)
        files.update(before)

        for name, data in files.items():
            with storage.open(name) as handle:
                assert handle.read() == data, (operation, name)
            assert StoredFile.objects.get(name=name).state == "stored", (operation, name)
            assert len(copies(name)) == 2, (operation, name, copies(name))
            assert set(copies(name).values()) == {"home", "verified"}, (operation, name, copies(name))
        for name in deleted:
            assert not StoredFile.objects.filter(name=name).exists(), (operation, name)
        assert objects(vercel_blob, s3_peer, local_root) == recorded_copies(), operation


def copies(name: str) -> dict[str, str]:
    record = StoredFile.objects.get(name=name)
    return {record.backend: "home", **dict(record.replicas.values_list("backend", "state"))}
