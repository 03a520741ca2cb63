"""VercelBlobStorage beyond the shared contract: configuration, overwrite policy, multipart, requests made."""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import re

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from storage_app.backends.vercel_blob.storage import VercelBlobStorage
from storage_app.exceptions import StorageRejected
from tests.peers.vercel_blob import PUBLIC_TOKEN
from tests.storage_app.contract import HOSTILE_NAMES, write_random_file

MiB = 1024 * 1024


# --- configuration -------------------------------------------------------------------------


def test_no_arguments_reads_the_settings(vercel_blob_settings, vercel_blob):
    storage = VercelBlobStorage()
    assert storage.api_url == vercel_blob.api_url
    assert storage.url_base == vercel_blob.url_base
    assert storage.retry.retries == 2
    name = storage.save("from-settings.txt", ContentFile(b"s"))
    assert vercel_blob.store.get(name) is not None


def test_keyword_options_override_settings(vercel_blob_settings, vercel_blob):
    storage = VercelBlobStorage(retries=0, part_size=6 * MiB, access="private")
    assert storage.retry.retries == 0
    assert storage.part_size == 6 * MiB
    assert storage.access == "private"
    assert storage.api_url == vercel_blob.api_url


def test_deconstruct_and_pickle(vercel_blob_options):
    storage = VercelBlobStorage(**vercel_blob_options, allow_overwrite=True)
    path, args, kwargs = storage.deconstruct()
    assert path == "storage_app.backends.vercel_blob.storage.VercelBlobStorage"
    assert args == ()
    rebuilt = VercelBlobStorage(*args, **kwargs)
    assert rebuilt.allow_overwrite is True
    storage.save("before-pickle.txt", ContentFile(b"p"))
    clone = pickle.loads(pickle.dumps(storage))  # noqa: S301 - our own object
    assert clone.exists("before-pickle.txt")


def test_is_configured_follows_the_token_setting_or_option(settings):
    settings.BLOB_READ_WRITE_TOKEN = None
    assert VercelBlobStorage().is_configured() is False
    assert VercelBlobStorage().not_configured_reason == "no BLOB_READ_WRITE_TOKEN"
    assert VercelBlobStorage(token=PUBLIC_TOKEN).is_configured() is True
    settings.BLOB_READ_WRITE_TOKEN = PUBLIC_TOKEN
    storage = VercelBlobStorage()
    assert (storage.is_configured(), storage.not_configured_reason) == (True, "")
    assert VercelBlobStorage(token="").is_configured() is False  # an option overrides its setting
    settings.BLOB_READ_WRITE_TOKEN = "not-a-token"
    with pytest.raises(ImproperlyConfigured, match="not a Vercel Blob read-write token"):
        VercelBlobStorage()


def test_without_a_token_it_builds_but_refuses_to_work(settings):
    settings.BLOB_READ_WRITE_TOKEN = None
    settings.VERCEL_BLOB_URL_BASE = None
    storage = VercelBlobStorage()
    assert storage.is_configured() is False
    with pytest.raises(ImproperlyConfigured, match="BLOB_READ_WRITE_TOKEN"):
        storage.exists("a.txt")
    with pytest.raises(ImproperlyConfigured, match="BLOB_READ_WRITE_TOKEN"):
        storage.url("a.txt")


def test_a_malformed_token_is_refused_without_being_repeated():
    with pytest.raises(ImproperlyConfigured) as refused:
        VercelBlobStorage(token="vercel_blob_rw_missing-secret")
    assert "missing-secret" not in str(refused.value)


@pytest.mark.parametrize(
    "options",
    [
        {"access": "protected"},
        {"part_size": 1024},
        {"max_parts_in_flight": 0},
        {"multipart_threshold": 0},
        {"retries": -1},
        {"cache_control_max_age": 10},
        {"allow_overwrite": True, "add_random_suffix": True},
    ],
)
def test_invalid_options(options):
    with pytest.raises(ImproperlyConfigured):
        VercelBlobStorage(token=PUBLIC_TOKEN, **options)


def test_the_token_never_shows(vercel_blob_storage):
    secret = PUBLIC_TOKEN.rsplit("_", 1)[1]
    assert secret not in repr(vercel_blob_storage)
    assert secret not in repr(vercel_blob_storage.client)
    assert secret not in str(vercel_blob_storage.deconstruct()[0])


def test_default_url_base_is_the_real_blob_host():
    storage = VercelBlobStorage(token=PUBLIC_TOKEN, url_base="")
    assert storage.url("inventory/a b.jpg") == "https://teststore123.public.blob.vercel-storage.com/inventory/a%20b.jpg"
    assert VercelBlobStorage(token=PUBLIC_TOKEN, url_base="", access="private").url_base == (
        "https://teststore123.private.blob.vercel-storage.com"
    )


# --- no needless requests ------------------------------------------------------------------


def test_url_makes_no_request_and_reaches_the_content(vercel_blob_storage, vercel_blob):
    name = vercel_blob_storage.save("pics/my cat ü.jpg", ContentFile(b"jpeg bytes"))
    vercel_blob.reset_counts()
    url = vercel_blob_storage.url(name)
    assert vercel_blob.request_count() == 0
    assert url == f"{vercel_blob.url_base}/pics/my%20cat%20%C3%BC.jpg"
    assert requests.get(url, timeout=10).content == b"jpeg bytes"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_never_reach_the_service(vercel_blob_storage, vercel_blob, name):
    with pytest.raises((SuspiciousFileOperation, ValueError)):
        vercel_blob_storage.save(name, ContentFile(b"x"))
    for operation in (vercel_blob_storage.exists, vercel_blob_storage.open, vercel_blob_storage.listdir):
        with pytest.raises((SuspiciousFileOperation, ValueError)):
            operation(name)
    assert vercel_blob.request_count() == 0


def test_open_is_one_get_and_no_head(vercel_blob_storage, vercel_blob):
    name = vercel_blob_storage.save("one-get.txt", ContentFile(b"abc" * 1000))
    vercel_blob.reset_counts()
    with vercel_blob_storage.open(name) as handle:
        assert handle.read() == b"abc" * 1000
        assert handle.content_type == "text/plain"
    assert vercel_blob.counts == {"content": 1}


# --- overwrite policy ----------------------------------------------------------------------


def test_default_policy_picks_a_new_name_through_exists(vercel_blob_storage, vercel_blob):
    vercel_blob_storage.save("same.txt", ContentFile(b"1"))
    second = vercel_blob_storage.save("same.txt", ContentFile(b"2"))
    assert re.fullmatch(r"same_\w{7}\.txt", second)
    put = next(request for request in vercel_blob.requests if request.route == "put")
    assert put.headers["x-allow-overwrite"] == "0"
    assert put.headers["x-add-random-suffix"] == "0"


def test_a_name_taken_behind_our_back_gets_another_name(vercel_blob_storage, vercel_blob):
    # Between get_available_name() and the upload someone else stores the same name: the service
    # refuses the overwrite, and the storage chooses again instead of failing or replacing.
    name = vercel_blob_storage.get_available_name("race.txt")
    requests.put(
        vercel_blob.api_url + "/",
        params={"pathname": name},
        data=b"theirs",
        headers={"authorization": f"Bearer {vercel_blob.token}", "x-vercel-blob-access": "public"},
        timeout=10,
    ).raise_for_status()
    stored = vercel_blob_storage._save(name, ContentFile(b"ours"))
    assert stored != "race.txt"
    assert vercel_blob_storage.open("race.txt").read() == b"theirs"
    assert vercel_blob_storage.open(stored).read() == b"ours"


def test_allow_overwrite_replaces_without_lookups(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**vercel_blob_options, allow_overwrite=True)
    storage.save("over.txt", ContentFile(b"1"))
    assert storage.save("over.txt", ContentFile(b"22")) == "over.txt"
    assert storage.size("over.txt") == 2
    assert vercel_blob.request_count("head") == 1  # only the size() above
    assert all(
        request.headers["x-allow-overwrite"] == "1" for request in vercel_blob.requests if request.route == "put"
    )


def test_random_suffix_returns_the_services_name(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**vercel_blob_options, add_random_suffix=True)
    first = storage.save("photos/cat.jpg", ContentFile(b"a"))
    second = storage.save("photos/cat.jpg", ContentFile(b"b"))
    for name in (first, second):
        assert re.fullmatch(r"photos/cat-[A-Za-z0-9]{30}\.jpg", name)
    assert first != second
    assert vercel_blob.request_count("head") == 0
    fitted = storage.save("photos/abcdefghijklmnopqrstuvwxyz.jpg", ContentFile(b"c"), max_length=70)
    assert len(fitted) <= 70
    with pytest.raises(SuspiciousFileOperation):
        storage.get_available_name("photos/x.jpg", max_length=20)


def test_content_type_declared_guessed_or_refused(vercel_blob_storage, vercel_blob):
    declared = vercel_blob_storage.save(
        "t/declared.bin", SimpleUploadedFile("x.bin", b"RIFF", content_type="image/webp")
    )
    guessed = vercel_blob_storage.save("t/guessed.png", ContentFile(b"png"))
    hostile = vercel_blob_storage.save(
        "t/hostile.txt", SimpleUploadedFile("x.txt", b"x", content_type="text/html\r\nSet-Cookie: a=b")
    )
    assert vercel_blob_storage.blob_info(declared)["contentType"] == "image/webp"
    assert vercel_blob_storage.blob_info(guessed)["contentType"] == "image/png"
    assert vercel_blob_storage.blob_info(hostile)["contentType"] == "text/plain"


# --- multipart -----------------------------------------------------------------------------


def test_multipart_parts_in_flight_are_bounded(vercel_blob_options, vercel_blob, tmp_path):
    storage = VercelBlobStorage(
        **vercel_blob_options, multipart_threshold=5 * MiB, part_size=5 * MiB, max_parts_in_flight=3
    )
    source = tmp_path / "26mib.bin"
    expected = write_random_file(source, 26 * MiB)
    vercel_blob.faults.slow(0.2, routes="mpu.upload")  # keeps parts overlapping long enough to count them
    with source.open("rb") as handle:
        name = storage.save("mpu/26mib.bin", File(handle))
    assert vercel_blob.request_count("mpu.create") == 1
    assert vercel_blob.request_count("mpu.upload") == 6  # 5 x 5 MiB + 1 MiB
    assert vercel_blob.request_count("mpu.complete") == 1
    assert vercel_blob.peak_in_flight("mpu.upload") == 3
    with storage.open(name) as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == expected


def test_below_the_threshold_is_one_put(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**vercel_blob_options, multipart_threshold=5 * MiB)
    storage.save("single.bin", ContentFile(b"s" * (5 * MiB - 1)))
    assert vercel_blob.request_count("put") == 1
    assert vercel_blob.request_count("mpu") == 0


def test_a_source_without_a_size_is_spooled_and_sent_with_a_length(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**vercel_blob_options, multipart_threshold=5 * MiB, part_size=5 * MiB)

    class Pipe:
        """Readable only forward, size unknown: like a socket or a pipe."""

        def __init__(self, total: int) -> None:
            self.left = total

        def read(self, size: int = -1) -> bytes:
            size = self.left if size is None or size < 0 else min(size, self.left)
            self.left -= size
            return b"p" * size

    name = storage.save("pipe.bin", Pipe(6 * MiB))
    assert storage.size(name) == 6 * MiB
    assert vercel_blob.request_count("mpu.upload") == 2


# --- listing and times ---------------------------------------------------------------------


def test_listdir_follows_cursors(vercel_blob_storage, vercel_blob):
    vercel_blob_storage.list_page_size = 2
    for name in ("l/a.txt", "l/b.txt", "l/c.txt", "l/d/1.txt", "l/e/2.txt", "l/f.txt"):
        vercel_blob_storage.save(name, ContentFile(b"."))
    vercel_blob.reset_counts()
    directories, files = vercel_blob_storage.listdir("l")
    assert directories == ["d", "e"]
    assert files == ["a.txt", "b.txt", "c.txt", "f.txt"]
    assert vercel_blob.request_count("list") == 3


def test_times_come_from_uploaded_at(vercel_blob_storage, settings):
    name = vercel_blob_storage.save("time.txt", ContentFile(b"t"))
    uploaded_at = vercel_blob_storage.blob_info(name)["uploadedAt"]
    modified = vercel_blob_storage.get_modified_time(name)
    assert modified.isoformat(timespec="milliseconds").replace("+00:00", "Z") == uploaded_at
    assert vercel_blob_storage.get_created_time(name) == modified
    settings.USE_TZ = False
    assert timezone.is_naive(vercel_blob_storage.get_modified_time(name))


def test_open_is_read_only(vercel_blob_storage):
    name = vercel_blob_storage.save("ro.txt", ContentFile(b"r"))
    with pytest.raises(ValueError, match="read-only"):
        vercel_blob_storage.open(name, "wb")
    handle = vercel_blob_storage.open(name)
    with pytest.raises(OSError, match="read-only"):
        handle.write(b"x")
    handle.close()


def test_a_file_shorter_than_its_declared_size_is_refused(vercel_blob_storage, vercel_blob):
    content = ContentFile(b"short")
    content.size = 100
    with pytest.raises(StorageRejected, match="ended before its declared size"):
        vercel_blob_storage.save("short.txt", content)
    # Not retried. The client gives up while still sending, so the server may not have counted it yet.
    assert vercel_blob.request_count("put") <= 1
    assert vercel_blob_storage.exists("short.txt") is False


def test_storages_entries_follow_the_settings_fixture(vercel_blob_settings, vercel_blob):
    from django.core.files.storage import storages

    vercel_blob_settings.STORAGES = {
        **vercel_blob_settings.STORAGES,
        "vercel": {"BACKEND": "storage_app.backends.vercel_blob.storage.VercelBlobStorage"},
    }
    name = storages["vercel"].save("via-storages.txt", ContentFile(b"s"))
    assert vercel_blob.store.get(name) is not None


def test_small_and_big_reads_and_seeks_mixed_give_the_right_bytes(vercel_blob_storage):
    """Small reads go through the buffer, big ones straight to the connection; the position is one."""
    payload = os.urandom(3 * 1024 * 1024 + 5)
    name = vercel_blob_storage.save("mixed/reads.bin", ContentFile(payload))
    rng = random.Random(3)
    with vercel_blob_storage.open(name) as handle:
        position = 0
        for _ in range(60):
            if rng.random() < 0.3:
                position = rng.randrange(len(payload))
                assert handle.seek(position) == position
            size = rng.choice([1, 4096, 100_000, 256 * 1024, 1024 * 1024])
            data = handle.read(size)
            assert data == payload[position : position + size]
            position += len(data)
            assert handle.tell() == position
