"""storage_manager: the seed's store/get/delete by URL, per user, through every backend."""

import io

import pytest
from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile

from storage_app.fallback import FallbackStorage
from storage_app.manager import (
    ForeignURLError,
    MalformedURLError,
    NotOwnedError,
    StorageManager,
    StorageURLError,
    storage_manager,
)
from storage_app.models import StoredFile
from storage_app.services.relocation import files_relocate
from tests.storage_app.fallback_support import chain, local_files, local_storage, vercel_storage

PAYLOAD = bytes(range(256)) * 64


@pytest.fixture
def three(db, vercel_blob, s3_peer, tmp_path):
    return chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")


@pytest.fixture
def manager(three):
    return StorageManager(three)


def round_trip(manager: StorageManager, user_id: int = 7) -> str:
    url = async_to_sync(manager.store_file)(user_id, PAYLOAD, "price list.csv", "text/csv")
    assert async_to_sync(manager.get_file)(url) == PAYLOAD
    assert manager.get_file_sync(url, user_id=user_id) == PAYLOAD
    assert b"".join(manager.iter_file_sync(url, chunk_size=1000)) == PAYLOAD
    return url


async def collect(manager: StorageManager, url: str) -> bytes:
    return b"".join([chunk async for chunk in manager.stream_file(url, chunk_size=4096)])


def test_round_trip_through_vercel_blob(manager, vercel_blob, three):
    url = round_trip(manager)
    assert url.startswith(vercel_blob.url_base)
    assert three.backend_of("users/7/price_list.csv") == "vercel"
    assert async_to_sync(collect)(manager, url) == PAYLOAD
    assert async_to_sync(manager.delete_file)(url) is True
    assert async_to_sync(manager.delete_file)(url) is False
    with pytest.raises(FileNotFoundError):
        manager.get_file_sync(url)


def test_round_trip_through_s3(manager, vercel_blob, s3_peer, three):
    vercel_blob.refuse_connections()
    url = round_trip(manager)
    assert url.startswith(f"{s3_peer.server.endpoint}/{s3_peer.bucket}/users/7/price_list.csv?")
    assert three.backend_of("users/7/price_list.csv") == "s3"
    assert (
        s3_peer.client()
        .head_object(Bucket=s3_peer.bucket, Key="users/7/price_list.csv")["ContentType"]
        .startswith("text/csv")
    )
    # The seed's S3 service handed out s3:// URLs: they resolve too.
    assert manager.get_file_sync(f"s3://{s3_peer.bucket}/users/7/price_list.csv") == PAYLOAD
    assert manager.delete_file_sync(url) is True
    assert s3_peer.keys() == []


def test_round_trip_through_local(db, vercel_blob, s3_outage_peer, tmp_path):
    manager = StorageManager(chain(vercel=vercel_blob, s3=s3_outage_peer, local=tmp_path / "local"))
    vercel_blob.refuse_connections()
    s3_outage_peer.server.stop()
    url = round_trip(manager)
    assert url == "/media/users/7/price_list.csv"
    assert local_files(tmp_path / "local") == ["users/7/price_list.csv"]
    assert manager.delete_file_sync(url) is True
    assert local_files(tmp_path / "local") == []


def test_an_old_url_still_works_after_reconcile_moved_the_file(manager, three, vercel_blob):
    vercel_blob.refuse_connections()
    s3_url = manager.store_file_sync(3, b"moved home later", "note.txt")
    vercel_blob.accept_connections()
    assert files_relocate(storage=three, target="vercel").moved == ["users/3/note.txt"]
    assert manager.get_file_sync(s3_url) == b"moved home later"


def test_the_default_manager_uses_the_configured_chain(db):
    url = storage_manager.store_file_sync(5, io.BytesIO(b"from a file object"), "a.bin")
    assert url == "/media/users/5/a.bin"
    assert storage_manager.get_file_sync(url) == b"from a file object"
    assert StoredFile.objects.get(name="users/5/a.bin").backend == "local"


def test_a_users_files_are_out_of_another_users_reach(manager):
    url = manager.store_file_sync(1, b"alice's invoice", "invoice.pdf")
    assert manager.get_file_sync(url, user_id=1) == b"alice's invoice"
    with pytest.raises(NotOwnedError):
        manager.get_file_sync(url, user_id=2)
    with pytest.raises(NotOwnedError):
        manager.delete_file_sync(url, user_id=2)
    with pytest.raises(NotOwnedError):
        async_to_sync(manager.get_file)(url, user_id=11)  # "users/1/" is not a prefix of "users/11/"
    assert manager.get_file_sync(url) == b"alice's invoice"


def test_same_filename_twice_keeps_both(manager):
    first = manager.store_file_sync(1, b"one", "same.txt")
    second = manager.store_file_sync(1, b"two", "same.txt")
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
    ("user_id", "filename", "data", "error"),
    [
        (1, "../../etc/passwd", b"x", ValueError),
        (1, "dir/file.txt", b"x", ValueError),
        (1, "nul\x00.txt", b"x", ValueError),
        (1, "x" * 10_000, b"x", ValueError),
        (1, "..", b"x", ValueError),
        (1, "???", b"x", ValueError),
        (1, b"bytes.txt", b"x", TypeError),
        (1, "a.txt", "text, not bytes", TypeError),
        (1, "a.txt", 12345, TypeError),
        (0, "a.txt", b"x", ValueError),
        (-3, "a.txt", b"x", ValueError),
        (True, "a.txt", b"x", TypeError),
        ("../1", "a.txt", b"x", ValueError),
        (1.5, "a.txt", b"x", TypeError),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(manager, user_id, filename, data, error):
    with pytest.raises(error):
        manager.store_file_sync(user_id, data, filename)
    assert StoredFile.objects.count() == 0


def test_bad_content_type_is_refused(manager):
    with pytest.raises(ValueError, match="MIME type"):
        manager.store_file_sync(1, b"x", "a.txt", "not a type")
    assert StoredFile.objects.count() == 0


def test_unicode_names_empty_files_and_django_files(manager):
    url = manager.store_file_sync(9, b"", "reçu été.txt")
    assert manager.get_file_sync(url) == b""
    assert "users/9/re%C3%A7u_%C3%A9t%C3%A9.txt" in url
    other = manager.store_file_sync(9, ContentFile(b"django file"), "c.txt")
    assert manager.get_file_sync(other) == b"django file"


def test_round_trip_through_a_private_vercel_store(db, vercel_blob_private, tmp_path):
    private = vercel_storage(vercel_blob_private, alias="vercel_private")
    manager = StorageManager(FallbackStorage([("vercel_private", private), ("local", local_storage(tmp_path / "l"))]))
    url = manager.store_file_sync(4, b"private bytes", "p ü.txt")
    assert url.startswith("/blobs/private/vercel_private/users/4/p_%C3%BC.txt?expires=")
    assert manager.get_file_sync(url, user_id=4) == b"private bytes"
    assert manager.delete_file_sync(url) is True
