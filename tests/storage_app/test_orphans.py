"""The one orphan walk (storage_app.orphans): unrecorded objects, and stored files the caller disowns.

Its two users call it here as they do: the pipeline's sweep (the kinds' folders, with a predicate)
and `reconcile_storage --orphans` (everything, no predicate).
"""

import pytest
from django.core.files.base import ContentFile

from storage_app.models import StoredFile
from storage_app.orphans import orphans_sweep
from tests.storage_app.fallback_support import chain, local_files


def blobs(server) -> list[str]:
    found, _, _ = server.store.list(prefix="", limit=1000, cursor=None, folded=False)
    return sorted(blob.pathname for blob in found)


@pytest.mark.django_db
def test_one_walk_serves_the_sweep_and_reconcile(vercel_blob, s3_peer, tmp_path):
    storage = chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")
    kept = storage.save("documents/1/5/kept.pdf", ContentFile(b"a row refers to it"))
    gone = storage.save("documents/1/6/gone.pdf", ContentFile(b"its row was deleted"))
    s3_peer.put("documents/1/7/rolled-back.pdf", b"its promotion's transaction rolled back")
    s3_peer.put(kept, b"a stray second copy of a file that lives on vercel")
    s3_peer.put("other/stray.txt", b"outside the folders the sweep walks")
    asked: list[str] = []

    def unreferenced(name: str) -> bool:
        asked.append(name)
        return name != kept

    # The sweep: the kinds' folders only, with its predicate.
    dry = orphans_sweep(storage=storage, prefixes=["documents"], grace=0, dry_run=True, unreferenced=unreferenced)
    assert dry.unreferenced == [gone]
    assert sorted(dry.removed["s3"]) == ["documents/1/5/kept.pdf", "documents/1/7/rolled-back.pdf"]
    assert blobs(vercel_blob) == [kept, gone]  # a dry run removes nothing
    assert len(s3_peer.keys()) == 3

    asked.clear()
    report = orphans_sweep(storage=storage, prefixes=["documents/"], grace=0, unreferenced=unreferenced)
    assert sorted(asked) == [kept, gone]  # once per stored file, though `kept` has an object on two backends
    assert report.unreferenced == [gone]
    assert sorted(report.names) == [kept, gone, "documents/1/7/rolled-back.pdf"]
    assert blobs(vercel_blob) == [kept]
    assert s3_peer.keys() == ["other/stray.txt"]
    assert list(StoredFile.objects.values_list("name", "backend", "state")) == [(kept, "vercel", "stored")]

    # Reconcile --orphans: every backend in full, no predicate; recorded files are never its business.
    report = orphans_sweep(storage=storage, grace=0)
    assert report.removed == {"s3": ["other/stray.txt"]}
    assert report.unreferenced == []
    assert "removed 1 object(s) no record accounts for" in report.summary()
    assert s3_peer.keys() == []
    assert blobs(vercel_blob) == [kept]
    assert local_files(tmp_path / "local") == []


@pytest.mark.django_db
def test_a_backend_that_cannot_be_listed_is_reported_and_the_others_are_swept(vercel_blob, s3_outage_peer, tmp_path):
    storage = chain(vercel=vercel_blob, s3=s3_outage_peer)
    s3_outage_peer.put("docs/orphan.txt", b"x")
    vercel_blob.refuse_connections()
    report = orphans_sweep(storage=storage, grace=0)
    assert list(report.unreachable) == ["vercel"]
    assert report.removed == {"s3": ["docs/orphan.txt"]}
    assert s3_outage_peer.keys() == []
