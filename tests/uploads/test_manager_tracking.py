"""storage_manager stores through upload tracking: a crash mid-store or a total outage loses nothing.

Both run on the configured chain (settings: the local Vercel Blob server, a private nanio), so the
sweep, which promotes with the configured storage, finishes what the manager started.
"""

import signal

import pytest

from storage_app.models import StoredFile
from tests.storage_app.fallback_support import configure_primary, local_files, manage, manage_env, vercel_env
from uploads.manager import StoreDeferred, storage_manager
from uploads.models import UploadTracking
from uploads.services.sweep import uploads_sweep

LEDGER = b"date,item,qty\n2026-11-01,teak stool,12\n" * 100


def blobs(server) -> list[str]:
    found, _, _ = server.store.list(prefix="", limit=1000, cursor=None, folded=False)
    return sorted(blob.pathname for blob in found)


@pytest.fixture
def configured(settings, vercel_blob_settings, s3_outage_peer):
    configure_primary(settings, s3_outage_peer, "vercel")
    return settings


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("point", ["before_upload", "after_upload"])
def test_a_process_killed_mid_store_leaves_a_row_the_sweep_completes_with_one_object(
    configured, vercel_blob, s3_outage_peer, user, point
):
    env = manage_env(configured, STORAGE_BACKEND="vercel", **vercel_env(vercel_blob), **s3_outage_peer.env())
    code = (
        "from uploads.manager import storage_manager;"
        f"storage_manager.store_file_sync({user.pk}, {LEDGER!r}, 'ledger.csv', 'text/csv')"
    )
    killed = manage({**env, "INSTANTORY_CRASH_AT": point}, "shell", "-c", code)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    upload = UploadTracking.objects.get()
    assert (upload.kind, upload.status, upload.owner_id) == ("file", "processing", user.pk)
    temp = configured.TEMP_UPLOAD_ROOT / upload.temp_path
    assert temp.read_bytes() == LEDGER  # the bytes were safe before any backend was written
    name = f"users/{user.pk}/{upload.pk}/ledger.csv"
    assert blobs(vercel_blob) == ([name] if point == "after_upload" else [])

    report = uploads_sweep(stale_after=0, grace=0)  # promotion runs in-process (no broker in the tests)
    assert report.requeued == [upload.pk]
    upload.refresh_from_db()
    assert (upload.status, upload.permanent_name, upload.permanent_backend) == ("complete", name, "vercel")
    assert blobs(vercel_blob) == [name]  # the crashed run's object was reused, not stored twice
    assert s3_outage_peer.keys() == []
    assert local_files(configured.LOCAL_STORAGE_ROOT) == []
    assert not temp.exists()
    assert StoredFile.objects.get(name=name).checksum == upload.checksum
    assert storage_manager.get_file_sync(storage_manager.storage.url(name), user_id=user.pk) == LEDGER


@pytest.mark.django_db
def test_every_backend_down_defers_the_file_and_the_sweep_stores_it_when_one_is_back(
    configured, vercel_blob, s3_outage_peer, user
):
    # No local disk in this chain, so nothing can take the file while Vercel Blob and S3 are down.
    configured.STORAGES = {alias: entry for alias, entry in configured.STORAGES.items() if alias != "local"}
    vercel_blob.refuse_connections()
    s3_outage_peer.server.stop()
    with pytest.raises(StoreDeferred) as deferred:
        storage_manager.store_file_sync(user.pk, LEDGER, "ledger.csv", "text/csv")
    upload = UploadTracking.objects.get()
    assert deferred.value.upload_id == upload.pk
    assert f"kept as upload {upload.pk}" in str(deferred.value)
    assert (upload.status, upload.attempts) == ("pending", 1)
    assert "no storage backend accepted" in upload.last_error
    assert (configured.TEMP_UPLOAD_ROOT / upload.temp_path).read_bytes() == LEDGER
    assert StoredFile.objects.count() == 0

    vercel_blob.accept_connections()
    s3_outage_peer.server.restart()
    assert uploads_sweep(stale_after=0).requeued == [upload.pk]
    upload.refresh_from_db()
    assert (upload.status, upload.permanent_backend) == ("complete", "vercel")
    assert blobs(vercel_blob) == [upload.permanent_name]
    url = storage_manager.storage.url(upload.permanent_name)
    assert storage_manager.get_file_sync(url, user_id=user.pk) == LEDGER
