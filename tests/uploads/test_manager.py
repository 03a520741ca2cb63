"""storage_manager: the seed's store/get/delete by URL, per user, through every backend and upload tracking."""

import asyncio
import hashlib
import io
import time

import pytest
from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile
from django.test import Client
from model_bakery import baker

from storage_app.fallback import FallbackStorage
from storage_app.models import StoredFile
from storage_app.services.relocation import files_relocate
from tests.storage_app.fallback_support import chain, local_files, local_storage, vercel_storage
from uploads.manager import (
    ForeignURLError,
    MalformedURLError,
    NotOwnedError,
    StorageManager,
    StorageURLError,
    storage_manager,
)
from uploads.models import UploadTracking

PAYLOAD = bytes(range(256)) * 64


@pytest.fixture
def three(db, vercel_blob, s3_peer, tmp_path):
    return chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")


@pytest.fixture
def manager(three):
    return StorageManager(three)


def name_of(user, filename: str) -> str:
    """Where the user's one upload of `filename` was stored (users/<user>/<upload>/<filename>)."""
    upload = UploadTracking.objects.get(owner=user, original_filename=filename)
    assert upload.permanent_name == f"users/{user.pk}/{upload.pk}/{filename}"
    return upload.permanent_name


def round_trip(manager: StorageManager, user) -> str:
    url = async_to_sync(manager.store_file)(user.pk, PAYLOAD, "price list.csv", "text/csv")
    assert async_to_sync(manager.get_file)(url) == PAYLOAD
    assert manager.get_file_sync(url, user_id=user.pk) == PAYLOAD
    assert b"".join(manager.iter_file_sync(url, chunk_size=1000)) == PAYLOAD
    return url


async def collect(manager: StorageManager, url: str) -> bytes:
    return b"".join([chunk async for chunk in manager.stream_file(url, chunk_size=4096)])


def test_round_trip_through_vercel_blob(manager, vercel_blob, three, user):
    url = round_trip(manager, user)
    name = name_of(user, "price_list.csv")
    assert url.startswith(vercel_blob.url_base)
    assert manager.name_from_url(url) == name
    assert three.backend_of(name) == "vercel"
    assert async_to_sync(collect)(manager, url) == PAYLOAD
    assert async_to_sync(manager.delete_file)(url) is True
    assert async_to_sync(manager.delete_file)(url) is False
    with pytest.raises(FileNotFoundError):
        manager.get_file_sync(url)


def test_round_trip_through_s3(manager, vercel_blob, s3_peer, three, user):
    vercel_blob.refuse_connections()
    url = round_trip(manager, user)
    name = name_of(user, "price_list.csv")
    assert url.startswith(f"{s3_peer.server.endpoint}/{s3_peer.bucket}/{name}?")
    assert three.backend_of(name) == "s3"
    assert s3_peer.client().head_object(Bucket=s3_peer.bucket, Key=name)["ContentType"].startswith("text/csv")
    # The seed's S3 service handed out s3:// URLs: they resolve too.
    assert manager.get_file_sync(f"s3://{s3_peer.bucket}/{name}") == PAYLOAD
    assert manager.delete_file_sync(url) is True
    assert s3_peer.keys() == []


def test_round_trip_through_local(db, vercel_blob, s3_outage_peer, tmp_path, user):
    manager = StorageManager(chain(vercel=vercel_blob, s3=s3_outage_peer, local=tmp_path / "local"))
    vercel_blob.refuse_connections()
    s3_outage_peer.server.stop()
    url = round_trip(manager, user)
    name = name_of(user, "price_list.csv")
    assert url == f"/media/{name}"
    assert local_files(tmp_path / "local") == [name]
    assert manager.delete_file_sync(url) is True
    assert local_files(tmp_path / "local") == []


def test_an_old_url_still_works_after_reconcile_moved_the_file(manager, three, vercel_blob, user):
    vercel_blob.refuse_connections()
    s3_url = manager.store_file_sync(user.pk, b"moved home later", "note.txt")
    vercel_blob.accept_connections()
    assert files_relocate(storage=three, target="vercel").moved == [name_of(user, "note.txt")]
    assert manager.get_file_sync(s3_url) == b"moved home later"


def test_the_default_manager_uses_the_configured_chain(user):
    url = storage_manager.store_file_sync(str(user.pk), io.BytesIO(b"from a file object"), "a.bin")
    name = name_of(user, "a.bin")
    assert url.startswith(f"/files/local/{name}?expires=")  # a signed link to the app's view
    assert Client().get(url).getvalue() == b"from a file object"
    assert storage_manager.get_file_sync(url) == b"from a file object"
    assert StoredFile.objects.get(name=name).backend == "local"


def test_every_store_is_tracked_to_completion(manager, three, user, settings):
    url = manager.store_file_sync(user.pk, PAYLOAD, "ledger.csv", "text/csv; charset=utf-8")
    upload = UploadTracking.objects.get()
    assert (upload.kind, upload.status, upload.attempts) == ("file", "complete", 1)
    assert (upload.owner, upload.original_filename, upload.content_type) == (
        user,
        "ledger.csv",
        "text/csv; charset=utf-8",
    )
    assert (upload.size, upload.checksum) == (len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest())
    assert (upload.permanent_backend, upload.inventory_item, upload.document) == ("vercel", None, None)
    assert manager.name_from_url(url) == upload.permanent_name
    assert StoredFile.objects.get(name=upload.permanent_name).checksum == upload.checksum
    assert list(settings.TEMP_UPLOAD_ROOT.iterdir()) == []  # the temporary copy goes once the file is stored


def test_the_primary_down_loses_nothing_the_file_is_tracked_onto_the_fallback(manager, vercel_blob, s3_peer, user):
    vercel_blob.refuse_connections()
    url = manager.store_file_sync(user.pk, b"while vercel is down", "note.txt")
    upload = UploadTracking.objects.get()
    assert (upload.status, upload.permanent_backend) == ("complete", "s3")
    assert s3_peer.keys() == [upload.permanent_name]
    assert manager.get_file_sync(url) == b"while vercel is down"


def test_a_users_files_are_out_of_another_users_reach(manager, user, other_user):
    url = manager.store_file_sync(user.pk, b"alice's invoice", "invoice.pdf")
    assert manager.get_file_sync(url, user_id=user.pk) == b"alice's invoice"
    with pytest.raises(NotOwnedError):
        manager.get_file_sync(url, user_id=other_user.pk)
    with pytest.raises(NotOwnedError):
        manager.delete_file_sync(url, user_id=other_user.pk)
    # "users/<id>/" must not match "users/<id>1/": a user whose id extends Alice's gets nothing.
    longer_id = baker.make("auth.User", pk=int(f"{user.pk}1"))
    with pytest.raises(NotOwnedError):
        async_to_sync(manager.get_file)(url, user_id=longer_id.pk)
    assert manager.get_file_sync(url) == b"alice's invoice"


def test_same_filename_twice_keeps_both(manager, user):
    first = manager.store_file_sync(user.pk, b"one", "same.txt")
    second = manager.store_file_sync(user.pk, b"two", "same.txt")
    assert first != second
    assert [manager.get_file_sync(first), manager.get_file_sync(second)] == [b"one", b"two"]


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("https://evil.example.com/users/1/x.txt", ForeignURLError),
        ("https://teststore123.public.blob.vercel-storage.com.evil.example/users/1/x.txt", ForeignURLError),
        ("ftp://files.example/users/1/x.txt", ForeignURLError),
        ("s3://some-other-bucket/users/1/x.txt", ForeignURLError),
        ("/static/users/1/x.txt", ForeignURLError),
        ("", MalformedURLError),
        ("http://[::1/users", MalformedURLError),
        ("/media/users/1/\x00.txt", MalformedURLError),
        ("/media/users/1/../../etc/passwd", MalformedURLError),
        ("/media/", MalformedURLError),
        (42, MalformedURLError),
        (None, MalformedURLError),
        ("/media/" + "a" * 10_000, MalformedURLError),
    ],
)
def test_foreign_and_malformed_urls_get_a_clear_error(manager, url, error):
    with pytest.raises(error) as raised:
        manager.get_file_sync(url)
    assert isinstance(raised.value, StorageURLError)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(error):
        manager.delete_file_sync(url)


@pytest.mark.parametrize(
    ("filename", "data", "error"),
    [
        ("../../etc/passwd", b"x", ValueError),
        ("dir/file.txt", b"x", ValueError),
        ("nul\x00.txt", b"x", ValueError),
        ("x" * 10_000, b"x", ValueError),
        ("..", b"x", ValueError),
        ("???", b"x", ValueError),
        (b"bytes.txt", b"x", TypeError),
        ("a.txt", "text, not bytes", TypeError),
        ("a.txt", 12345, TypeError),
        ("empty.txt", b"", ValueError),  # like every tracked upload: an empty file is refused
    ],
)
def test_bad_input_is_refused_and_leaves_nothing(manager, user, settings, filename, data, error):
    with pytest.raises(error):
        manager.store_file_sync(user.pk, data, filename)
    assert StoredFile.objects.count() == 0
    assert UploadTracking.objects.count() == 0
    assert list(settings.TEMP_UPLOAD_ROOT.iterdir()) == []


@pytest.mark.parametrize(
    ("user_id", "error"),
    [
        (0, ValueError),
        (-3, ValueError),
        ("../1", ValueError),
        ("alice", ValueError),
        ("9" * 19, ValueError),
        (True, TypeError),
        (1.5, TypeError),
    ],
)
def test_user_ids_that_are_not_ids_are_refused(manager, user_id, error):
    with pytest.raises(error):
        manager.store_file_sync(user_id, b"x", "a.txt")
    assert UploadTracking.objects.count() == 0


def test_a_user_that_does_not_exist_is_refused(manager, user):
    with pytest.raises(ValueError, match="no user with id"):
        manager.store_file_sync(user.pk + 1000, b"x", "a.txt")
    assert UploadTracking.objects.count() == 0


def test_too_large_is_refused_before_anything_is_stored(manager, user, settings):
    settings.UPLOAD_MAX_SIZE = 1024
    with pytest.raises(ValueError, match="larger than the largest accepted upload"):
        manager.store_file_sync(user.pk, b"x" * 1025, "big.bin")
    assert StoredFile.objects.count() == 0
    assert UploadTracking.objects.count() == 0


@pytest.mark.parametrize("content_type", ["not a type", "text/csv\r\nX-Injected: 1", 42, "a/" + "b" * 300])
def test_bad_content_type_is_refused(manager, user, content_type):
    with pytest.raises(ValueError, match="MIME type"):
        manager.store_file_sync(user.pk, b"x", "a.txt", content_type)
    assert StoredFile.objects.count() == 0
    assert UploadTracking.objects.count() == 0


def test_unicode_names_and_django_files(manager, user):
    url = manager.store_file_sync(user.pk, b"receipt", "reçu été.txt")
    assert manager.get_file_sync(url) == b"receipt"
    assert "/re%C3%A7u_%C3%A9t%C3%A9.txt" in url
    assert UploadTracking.objects.get().content_type == "text/plain"  # guessed from the name when not given
    other = manager.store_file_sync(user.pk, ContentFile(b"django file"), "c.txt")
    assert manager.get_file_sync(other) == b"django file"


def test_round_trip_through_a_private_vercel_store(db, vercel_blob_private, tmp_path, user):
    private = vercel_storage(vercel_blob_private, alias="vercel_private")
    manager = StorageManager(FallbackStorage([("vercel_private", private), ("local", local_storage(tmp_path / "l"))]))
    url = manager.store_file_sync(user.pk, b"private bytes", "p ü.txt")
    name = name_of(user, "p_ü.txt")
    assert url.startswith(f"/blobs/private/vercel_private/users/{user.pk}/")
    assert manager.name_from_url(url) == name
    assert "?expires=" in url
    assert manager.get_file_sync(url, user_id=user.pk) == b"private bytes"
    assert manager.delete_file_sync(url) is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_awaits_run_at_once_each_on_a_connection_it_closes(vercel_blob, s3_peer, tmp_path):
    from django.db import connection

    user = baker.make("auth.User", username="concurrent")
    manager = StorageManager(chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local"))
    urls = [manager.store_file_sync(user.pk, f"file {index}".encode(), f"f{index}.txt") for index in range(8)]
    vercel_blob.reset_counts()
    vercel_blob.faults.slow(1.0, routes="content")  # each read is held long enough for them to overlap

    async def read_all() -> list[bytes]:
        return await asyncio.gather(*(manager.get_file(url) for url in urls))

    def sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    before = sessions()
    assert async_to_sync(read_all)() == [f"file {index}".encode() for index in range(8)]
    assert vercel_blob.peak_in_flight("content") >= 6  # not one at a time on one thread (8 unless the machine lags)
    deadline = time.monotonic() + 5
    while sessions() > before and time.monotonic() < deadline:  # a closed session leaves the server's list soon after
        time.sleep(0.05)
    assert sessions() == before  # the pool's connections were closed after each call


def test_inside_the_callers_transaction_a_call_sees_its_uncommitted_rows(manager, user):
    from django.db import transaction

    with transaction.atomic():
        url = async_to_sync(manager.store_file)(user.pk, b"uncommitted", "inside.txt")
        assert async_to_sync(manager.get_file)(url) == b"uncommitted"
