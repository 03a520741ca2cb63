"""FallbackStorage over the real peers: failover, location records, breakers, deletes, names, configuration."""

import io
import logging
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, default_storage, storages
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from storage_app.breakers import BreakerRegistry, CircuitOpen
from storage_app.exceptions import StorageAccessDenied, StorageError, StorageUnavailable
from storage_app.fallback import FallbackStorage
from storage_app.models import StoredFile
from tests.storage_app.fallback_support import chain, local_files, local_storage, vercel_storage


def records():
    return sorted(StoredFile.objects.values_list("name", "backend", "state"))


@pytest.fixture
def three(db, vercel_blob, s3_peer, tmp_path):
    """Vercel Blob, S3 (a fresh bucket on the shared nanio) and local disk."""
    return chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")


@pytest.fixture
def three_outage(db, vercel_blob, s3_outage_peer, tmp_path):
    """The same over a private nanio the test may stop."""
    return chain(vercel=vercel_blob, s3=s3_outage_peer, local=tmp_path / "local")


# --- failover ------------------------------------------------------------------------------------


def test_a_save_lands_on_the_primary_and_is_recorded_there(three, vercel_blob, s3_peer, tmp_path):
    name = three.save("inventory/1/photo.jpg", ContentFile(b"jpeg bytes"))
    assert name == "inventory/1/photo.jpg"
    assert three.backend_of(name) == "vercel"
    record = StoredFile.objects.get(name=name)
    assert (record.state, record.size) == ("stored", 10)
    assert len(record.checksum) == 64
    assert vercel_blob.request_count("put") >= 1
    assert s3_peer.keys() == []
    assert local_files(tmp_path / "local") == []


def test_vercel_down_then_s3_down_files_land_on_s3_then_local_and_stay_readable(
    three_outage, vercel_blob, s3_outage_peer, tmp_path
):
    vercel_blob.refuse_connections()
    on_s3 = three_outage.save("docs/a.txt", ContentFile(b"while vercel is down"))
    assert three_outage.backend_of(on_s3) == "s3"
    assert s3_outage_peer.keys() == ["docs/a.txt"]

    s3_outage_peer.server.kill()
    on_local = three_outage.save("docs/b.txt", ContentFile(b"while vercel and s3 are down"))
    assert three_outage.backend_of(on_local) == "local"
    assert local_files(tmp_path / "local") == ["docs/b.txt"]
    with three_outage.open(on_local) as handle:
        assert handle.read() == b"while vercel and s3 are down"
    assert three_outage.size(on_local) == 28
    assert three_outage.url(on_local) == "/media/docs/b.txt"

    s3_outage_peer.server.restart()
    with three_outage.open(on_s3) as handle:
        assert handle.read() == b"while vercel is down"
    assert three_outage.url(on_s3).startswith(f"{s3_outage_peer.server.endpoint}/{s3_outage_peer.bucket}/docs/a.txt?")
    assert records() == [("docs/a.txt", "s3", "stored"), ("docs/b.txt", "local", "stored")]


def test_a_service_error_moves_on_but_a_client_error_does_not(db, vercel_blob, s3_peer, tmp_path):
    vercel_blob.faults.fail(503)
    storage = chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")
    assert storage.backend_of(storage.save("a.txt", ContentFile(b"1"))) == "s3"

    # Wrong S3 credentials are the caller's problem: local must not quietly take the file.
    refused = FallbackStorage([("s3", s3_peer.storage(secret_key="wrong")), ("local", local_storage(tmp_path / "l2"))])
    with pytest.raises(StorageAccessDenied) as error:
        refused.save("b.txt", ContentFile(b"2"))
    assert error.value.backend == "s3"
    assert not StoredFile.objects.filter(name="b.txt").exists()
    assert local_files(tmp_path / "l2") == []


def test_every_backend_down_raises_unavailable_and_records_nothing(db, vercel_blob, s3_outage_peer):
    vercel_blob.refuse_connections()
    s3_outage_peer.server.stop()
    storage = chain(vercel=vercel_blob, s3=s3_outage_peer)
    with pytest.raises(StorageUnavailable) as error:
        storage.save("nowhere.txt", ContentFile(b"x"))
    assert "vercel:" in str(error.value)
    assert "s3:" in str(error.value)
    assert records() == []


def test_a_non_seekable_stream_fails_over_with_every_byte(db, vercel_blob, s3_peer, tmp_path):
    class OneWayStream(io.RawIOBase):
        """A socket-like body: read once, no seek."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    payload = bytes(range(256)) * 40_000  # 10 MB: above the S3 multipart threshold
    vercel_blob.faults.fail(503)
    storage = chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")
    name = storage.save("stream.bin", File(io.BufferedReader(OneWayStream(payload)), name="stream.bin"))
    assert storage.backend_of(name) == "s3"
    assert s3_peer.read("stream.bin") == payload


def test_a_file_keeps_its_name_on_every_backend_and_names_never_collide_across_them(three, vercel_blob):
    first = three.save("same.txt", ContentFile(b"on vercel"))
    vercel_blob.refuse_connections()
    second = three.save("same.txt", ContentFile(b"on s3"))
    assert first == "same.txt"
    assert second != first
    assert second.startswith("same_")
    assert [three.backend_of(first), three.backend_of(second)] == ["vercel", "s3"]


def test_names_come_from_the_records_without_asking_any_backend(db, vercel_blob, s3_outage_peer, tmp_path):
    storage = chain(vercel=vercel_blob, s3=s3_outage_peer, local=tmp_path / "local")
    storage.save("taken.txt", ContentFile(b"x"))
    vercel_blob.reset_counts()
    s3_outage_peer.server.stop()  # an S3 request would now fail
    assert storage.exists("taken.txt")
    assert not storage.exists("free.txt")
    assert storage.get_available_name("taken.txt") != "taken.txt"
    assert storage.listdir("") == ([], ["taken.txt"])
    assert storage.url("taken.txt").endswith("/taken.txt")
    assert vercel_blob.counts == {} or sum(vercel_blob.counts.values()) == 0


def test_reads_go_straight_to_the_recorded_backend(three, vercel_blob, s3_peer):
    vercel_blob.refuse_connections()
    name = three.save("where.txt", ContentFile(b"on s3"))
    vercel_blob.accept_connections()
    vercel_blob.reset_counts()
    with three.open(name) as handle:
        assert handle.read() == b"on s3"
    assert three.size(name) == 5
    three.get_modified_time(name)
    assert three.url(name).startswith(f"{s3_peer.server.endpoint}/{s3_peer.bucket}/where.txt?")
    three.delete(name)
    assert s3_peer.keys() == []
    assert sum(vercel_blob.counts.values()) == 0  # not one probe of the primary, for reads, URLs or the delete


def test_a_recorded_backend_that_is_down_is_an_outage_not_a_missing_file(three_outage, s3_outage_peer, vercel_blob):
    vercel_blob.refuse_connections()
    name = three_outage.save("x.txt", ContentFile(b"x"))
    s3_outage_peer.server.stop()
    with pytest.raises(StorageUnavailable) as error:
        three_outage.open(name)
    assert error.value.backend == "s3"


def test_files_of_a_backend_that_is_no_longer_configured_say_so(db, s3_peer, tmp_path):
    before = FallbackStorage([("s3", s3_peer.storage()), ("local", local_storage(tmp_path / "l"))])
    name = before.save("old.txt", ContentFile(b"x"))
    after = FallbackStorage([("local", local_storage(tmp_path / "l"))])
    with pytest.raises(StorageUnavailable, match="not configured"):
        after.open(name)


# --- circuit breakers ----------------------------------------------------------------------------


def test_after_the_breaker_opens_saves_no_longer_touch_the_dead_primary(db, vercel_blob, s3_peer, settings):
    settings.STORAGE_BREAKER_FAIL_MAX = 2
    settings.STORAGE_BREAKER_RESET_TIMEOUT = 60
    vercel_blob.faults.fail(503)
    storage = chain(vercel=vercel_blob, s3=s3_peer)
    for index in range(2):
        assert storage.backend_of(storage.save(f"trip-{index}.txt", ContentFile(b"x"))) == "s3"
    assert storage.backends[0].breaker.state == "open"
    touched = sum(vercel_blob.counts.values())
    assert touched > 0
    for index in range(5):
        assert storage.backend_of(storage.save(f"skip-{index}.txt", ContentFile(b"x"))) == "s3"
    assert sum(vercel_blob.counts.values()) == touched  # not one more request reached Vercel Blob


def test_after_the_cool_down_one_request_tries_the_primary_again(db, vercel_blob, s3_peer, settings):
    settings.STORAGE_BREAKER_FAIL_MAX = 1
    settings.STORAGE_BREAKER_RESET_TIMEOUT = 30
    now = [1000.0]
    vercel_blob.faults.fail(503)
    storage = chain(vercel=vercel_blob, s3=s3_peer, breakers=BreakerRegistry(clock=lambda: now[0]))
    storage.save("one.txt", ContentFile(b"x"))
    breaker = storage.backends[0].breaker
    assert breaker.state == "open"
    vercel_blob.faults.clear()
    now[0] += 31
    assert breaker.state == "half-open"
    assert storage.backend_of(storage.save("two.txt", ContentFile(b"x"))) == "vercel"
    assert breaker.state == "closed"


def test_reads_of_a_file_on_an_open_breaker_fail_fast(db, vercel_blob, s3_peer, settings):
    settings.STORAGE_BREAKER_FAIL_MAX = 1
    storage = chain(vercel=vercel_blob, s3=s3_peer)
    name = storage.save("home.txt", ContentFile(b"x"))
    vercel_blob.faults.fail(503)
    with pytest.raises(StorageUnavailable):
        storage.open(name)
    vercel_blob.reset_counts()
    with pytest.raises(CircuitOpen):
        storage.open(name)
    assert sum(vercel_blob.counts.values()) == 0


def test_missing_files_and_refusals_do_not_trip_the_breaker(db, s3_peer, settings, tmp_path):
    settings.STORAGE_BREAKER_FAIL_MAX = 1
    storage = FallbackStorage([("s3", s3_peer.storage()), ("local", local_storage(tmp_path / "l"))])
    name = storage.save("here.txt", ContentFile(b"x"))
    s3_peer.client().delete_object(Bucket=s3_peer.bucket, Key=name)  # gone behind the app's back
    for _ in range(3):
        with pytest.raises(FileNotFoundError):
            storage.open(name)
    assert storage.backends[0].breaker.state == "closed"


# --- deletes -------------------------------------------------------------------------------------


def test_delete_removes_the_object_and_the_record(three, vercel_blob, s3_peer):
    vercel_blob.refuse_connections()
    name = three.save("bye.txt", ContentFile(b"x"))
    three.delete(name)
    assert s3_peer.keys() == []
    assert records() == []
    three.delete(name)  # again: silent


def test_a_delete_while_the_backend_is_down_hides_the_file_and_keeps_the_name_until_purged(
    three_outage, vercel_blob, s3_outage_peer
):
    vercel_blob.refuse_connections()
    name = three_outage.save("later.txt", ContentFile(b"x"))
    s3_outage_peer.server.stop()
    three_outage.delete(name)  # does not wait on S3, does not raise
    assert not three_outage.exists(name)
    with pytest.raises(FileNotFoundError):
        three_outage.open(name)
    assert records() == [("later.txt", "s3", "deleting")]
    # The record is the ledger of the delete still owed: the failure is counted and a retry scheduled.
    pending = StoredFile.objects.get(name=name)
    assert pending.attempts == 1
    assert pending.last_error.startswith("s3: ")
    assert pending.next_attempt_at is not None
    assert three_outage.get_available_name(name) != name  # the old object still sits under this name on S3
    s3_outage_peer.server.restart()
    assert three_outage.purge(StoredFile.objects.get(name=name)) == []
    assert s3_outage_peer.keys() == []
    assert records() == []


# --- records and transactions --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_record_commits_and_rolls_back_with_the_callers_transaction(s3_peer, tmp_path):
    storage = FallbackStorage([("s3", s3_peer.storage()), ("local", local_storage(tmp_path / "l"))])

    def save_then_fail() -> None:
        with transaction.atomic():
            storage.save("rolled-back.txt", ContentFile(b"x"))
            assert StoredFile.objects.filter(name="rolled-back.txt").exists()
            raise RuntimeError("the caller fails after the save")

    with pytest.raises(RuntimeError, match="the caller fails"):
        save_then_fail()
    assert not StoredFile.objects.filter(name="rolled-back.txt").exists()
    # The object is now unrecorded: the orphan sweep (reconcile_storage --orphans) finds it.
    assert s3_peer.keys() == ["rolled-back.txt"]
    with transaction.atomic():
        kept = storage.save("committed.txt", ContentFile(b"y"))
    assert storage.backend_of(kept) == "s3"


def test_a_write_whose_record_cannot_be_completed_leaves_no_object(db, tmp_path):
    class CancelledMidWrite(FileSystemStorage):
        """A real disk store; while it writes, someone deletes the name (the record is no longer 'writing')."""

        def _save(self, name, content):
            StoredFile.objects.filter(name=name).update(state="deleting")
            return super()._save(name, content)

    disk = tmp_path / "disk"
    storage = FallbackStorage([("local", CancelledMidWrite(location=disk))])
    with pytest.raises(StorageError, match="cancelled"):
        storage.save("raced.txt", ContentFile(b"x"))
    assert local_files(disk) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_of_one_name_get_distinct_names_and_keep_every_byte(s3_peer, tmp_path):
    storage = FallbackStorage([("s3", s3_peer.storage()), ("local", local_storage(tmp_path / "l"))])
    names, errors = [], []

    def save(index: int) -> None:
        try:
            names.append((index, storage.save("race/same.txt", ContentFile(f"writer {index}".encode()))))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()  # each thread's own connection, so the test database can be dropped

    threads = [threading.Thread(target=save, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len({name for _, name in names}) == 6
    for index, name in names:
        with storage.open(name) as handle:
            assert handle.read() == f"writer {index}".encode()
    assert StoredFile.objects.filter(state="stored").count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_save_is_two_statements_one_durable_commit_and_asks_the_backend_nothing_first(vercel_blob, s3_peer):
    storage = chain(vercel=vercel_blob, s3=s3_peer)
    vercel_blob.reset_counts()
    with CaptureQueriesContext(connection) as queries:
        name = storage.save("fast/one.txt", ContentFile(b"x"))
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 2, statements
    # The reservation is the free-name check (a unique insert) whose commit does not wait for its flush ...
    assert statements[0].startswith("INSERT")
    assert "ON CONFLICT" in statements[0]
    assert "synchronous_commit" in statements[0]
    # ... and the completion is the one durable commit, which flushes both.
    assert statements[1].startswith("UPDATE")
    assert "synchronous_commit" not in statements[1]
    assert vercel_blob.counts == {"put": 1}  # no free-name HEAD: the record reserved the name
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)  # only that one commit was asynchronous
    assert StoredFile.objects.get(name=name).state == "stored"

    vercel_storage(vercel_blob).save("fast/alone.txt", ContentFile(b"y"))
    assert vercel_blob.request_count("head") == 1  # used alone, a backend still looks first


def test_a_name_taken_by_a_record_gets_another_and_inside_a_transaction_the_callers_commit_decides(three):
    first = three.save("again.txt", ContentFile(b"1"))
    with transaction.atomic():
        second = three.save("again.txt", ContentFile(b"2"))
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("on",)  # the caller's commit stays durable
    assert first == "again.txt"
    assert second.startswith("again_")
    with three.open(second) as handle:
        assert handle.read() == b"2"


def test_listdir_comes_from_the_records(three):
    for name in ("inv/1/a.jpg", "inv/1/b.jpg", "inv/2/c.jpg", "top.txt"):
        three.save(name, ContentFile(b"."))
    assert three.listdir("") == (["inv"], ["top.txt"])
    assert three.listdir("inv") == (["1", "2"], [])
    assert three.listdir("inv/1/") == ([], ["a.jpg", "b.jpg"])


def test_writing_through_open_is_refused(three):
    with pytest.raises(ValueError, match="reading only"):
        three.open("x.txt", "wb")


@pytest.mark.parametrize("name", ["../x.txt", "a/\x00.txt", "x" * 10_000, "/abs.txt"])
def test_hostile_names_are_refused_before_anything_is_recorded(three, name):
    with pytest.raises(SuspiciousFileOperation):
        three.save(name, ContentFile(b"x"))
    with pytest.raises(SuspiciousFileOperation):
        three.backend_of(name)
    assert records() == []


def test_unicode_and_empty_files(three):
    name = three.save("документы/ファイル é.txt", ContentFile(b""))
    assert three.size(name) == 0
    with three.open(name) as handle:
        assert handle.read() == b""


# --- configuration -------------------------------------------------------------------------------


def test_an_unconfigured_machine_runs_on_local_alone_with_one_warning_per_left_out_backend(db, settings, caplog):
    from storage_app import fallback

    settings.STORAGE_BACKEND = "vercel"
    settings.BLOB_READ_WRITE_TOKEN = None
    settings.AWS_STORAGE_BUCKET_NAME = None
    settings.STORAGES = dict(settings.STORAGES)
    fallback._warned.clear()
    with caplog.at_level(logging.WARNING, logger="storage_app.fallback"):
        storage = FallbackStorage()
        assert [backend.alias for backend in storage.backends] == ["local"]
        FallbackStorage().backends  # noqa: B018 - a second chain in the same process
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2
    assert any("vercel is left out" in w and "no BLOB_READ_WRITE_TOKEN" in w for w in warnings)
    assert any("s3 is left out" in w and "no AWS_STORAGE_BUCKET_NAME" in w for w in warnings)
    name = default_storage.save("plain.txt", ContentFile(b"x"))
    assert default_storage.backend_of(name) == "local"


def test_storage_backend_picks_the_primary_and_the_others_follow_the_seed_order(
    db, settings, s3_settings, vercel_blob_settings
):
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = dict(settings.STORAGES)
    assert [backend.alias for backend in FallbackStorage().backends] == ["s3", "vercel", "local"]
    settings.STORAGE_BACKEND = "local"
    assert [backend.alias for backend in FallbackStorage().backends] == ["local", "vercel", "s3"]
    name = storages["default"].save("configured.txt", ContentFile(b"x"))
    assert storages["default"].backend_of(name) == "local"


def test_nothing_configured_at_all_is_refused(db, settings):
    settings.STORAGES = {"default": {"BACKEND": "storage_app.fallback.FallbackStorage"}}
    with pytest.raises(ImproperlyConfigured, match="no storage backend"):
        FallbackStorage().backends  # noqa: B018
