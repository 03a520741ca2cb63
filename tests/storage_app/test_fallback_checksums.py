"""The record's SHA-256 comes from the bytes the backend reads: one pass over the content, always right."""

import hashlib
import io
import os
import random

import pytest
from django.core.files.base import File

from storage_app.fallback import _HashingReader
from storage_app.models import StoredFile
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
        reader = _HashingReader(File(io.BytesIO(DATA)))
        for _ in range(rng.randint(0, 12)):
            reader.seek(rng.randrange(len(DATA)))
            reader.read(rng.choice([1, 100, 65536, 2 * 1024 * 1024]))
        assert reader.hexdigest() == expected
        assert reader.total_size() == len(DATA)


def test_a_retry_from_the_start_is_not_hashed_twice():
    reader = _HashingReader(File(io.BytesIO(DATA)))
    reader.read(1024 * 1024)  # a first attempt that failed part-way
    reader.seek(0)
    while reader.read(256 * 1024):
        pass
    assert reader.hexdigest() == hashlib.sha256(DATA).hexdigest()
