"""The record's SHA-256 comes from the bytes the backend reads: one pass over the content, always right."""

import hashlib
import io
import os
import random
import threading

import pytest
from django.core.files.base import File

from storage_app.models import StoredFile
from storage_app.payload import HashingReader
from tests.storage_app.fallback_support import chain
from tests.streams import CountingStream

DATA = os.urandom(3 * 1024 * 1024 + 17)


@pytest.mark.parametrize("backend", ["vercel", "s3", "local"])
def test_a_save_reads_its_content_once_and_records_the_right_checksum(db, backend, request, tmp_path):
    peers = {"vercel": "vercel_blob", "s3": "s3_peer"}
    storage = (
        chain(local=tmp_path / "local")
        if backend == "local"
        else chain(**{backend: request.getfixturevalue(peers[backend])})
    )
    source = CountingStream(DATA)
    name = storage.save("docs/once.bin", File(source, name="once.bin"))
    record = StoredFile.objects.get(name=name)
    assert (record.backend, record.size, record.checksum) == (backend, len(DATA), hashlib.sha256(DATA).hexdigest())
    # No separate hashing pass: FallbackStorage reads no more than the backend on its own does
    # (boto3 reads a single-part body more than once for its own checksums; the others read it once).
    alone = CountingStream(DATA)
    storage.backend(backend).storage.save("docs/alone.bin", File(alone, name="alone.bin"))
    assert source.bytes_read == alone.bytes_read
    if backend != "s3":
        assert source.bytes_read == len(DATA)
    with storage.open(name) as handle:
        assert handle.read() == DATA


def test_reads_out_of_order_retries_and_partial_reads_still_give_the_full_checksum():
    expected = hashlib.sha256(DATA).hexdigest()
    rng = random.Random(7)
    for _ in range(20):
        reader = HashingReader(File(io.BytesIO(DATA)))
        for _ in range(rng.randint(0, 12)):
            reader.seek(rng.randrange(len(DATA)))
            reader.read(rng.choice([1, 100, 65536, 2 * 1024 * 1024]))
        assert reader.hexdigest() == expected
        assert reader.total_size() == len(DATA)


def test_a_retry_from_the_start_is_not_hashed_twice():
    reader = HashingReader(File(io.BytesIO(DATA)))
    reader.read(1024 * 1024)  # a first attempt that failed part-way
    reader.seek(0)
    while reader.read(256 * 1024):
        pass
    assert reader.hexdigest() == hashlib.sha256(DATA).hexdigest()


def test_parts_read_in_parallel_are_hashed_by_a_thread_alongside_them():
    """As Vercel's multipart upload reads: parts at once, each in its own thread, each in order."""
    import concurrent.futures

    reader = HashingReader(File(io.BytesIO(DATA)))
    part = 512 * 1024
    lock = threading.Lock()

    def send(start: int) -> int:
        sent = 0
        while sent < min(part, len(DATA) - start):
            with lock:  # the upload's own position lock (vercel_blob_io.UploadSource)
                reader.seek(start + sent)
                sent += len(reader.read(min(64 * 1024, part - sent)))
        return sent

    # The first part is sent last (the pool starts four later parts first), so some read is sure to
    # skip ahead however the threads are scheduled.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert sum(pool.map(send, reversed(range(0, len(DATA), part)))) == len(DATA)
    assert reader._catch_up is not None  # the reads skipped ahead: a thread took the hashing over
    assert reader.hexdigest() == hashlib.sha256(DATA).hexdigest()
    assert reader.hexdigest() == hashlib.sha256(DATA).hexdigest()  # asking twice gives the same


def test_a_save_that_ends_stops_the_hashing_thread_before_its_spool_is_closed():
    from storage_app.payload import Payload

    payload = Payload(File(io.StringIO("x" * len(DATA)), name="big.txt"))  # text: spooled as UTF-8
    assert payload._spool is not None
    payload.file.seek(2 * 1024 * 1024)
    payload.file.read(10)  # skips ahead: the hashing thread starts
    thread = payload._hashing._catch_up
    assert thread is not None
    payload.close()
    assert not thread.is_alive()
    assert payload._spool.closed


def test_an_error_of_the_hashing_thread_is_raised_by_hexdigest_on_the_saves_thread():
    class FailsForTheHasher(io.BytesIO):
        def read(self, size=-1):
            if threading.current_thread().name == "storage-save-sha256":
                raise OSError("disk error while hashing")
            return super().read(size)

    reader = HashingReader(File(FailsForTheHasher(DATA)))
    reader.seek(1024)
    assert len(reader.read(10)) == 10  # skips ahead: a thread takes the hashing over, and fails
    with pytest.raises(OSError, match="disk error while hashing"):
        reader.hexdigest()
    reader.stop()


def test_a_known_sha256_is_recorded_without_hashing_the_content_again(db, tmp_path):
    """The upload pipeline hashes a file once (into the temporary area) and passes the digest down."""
    from storage_app.payload import Payload

    content = File(CountingStream(DATA), name="known.bin")
    content.sha256 = hashlib.sha256(DATA).hexdigest()
    payload = Payload(content)
    assert payload.file.file is content  # sent as it is: no hashing reader in between
    assert payload.checksum == content.sha256
    assert payload.size == len(DATA)
    assert content.file.bytes_read == 0  # nothing was read to hash it
    payload.close()


def test_a_malformed_sha256_is_ignored_and_the_content_hashed(db):
    from storage_app.payload import Payload

    content = File(io.BytesIO(DATA), name="claimed.bin")
    content.sha256 = "not-a-digest"
    payload = Payload(content)
    payload.file.read()
    assert payload.checksum == hashlib.sha256(DATA).hexdigest()
    payload.close()
