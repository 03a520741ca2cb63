"""Failures of the service as VercelBlobStorage reports them, and the retry budget, proven by the server's counters.

The fixtures' storage makes 2 retries (3 attempts) with backoff of at most 0.05 s.
"""

from __future__ import annotations

import logging
import time

import pytest
from django.core.files.base import ContentFile

from storage_app.backends.vercel_blob.storage import VercelBlobStorage
from storage_app.exceptions import (
    StorageAccessDenied,
    StorageConnectionError,
    StorageFileTooLarge,
    StoragePreconditionFailed,
    StorageRateLimited,
    StorageRejected,
    StorageServiceError,
    StorageSuspended,
    StorageTimeout,
    StorageUnavailable,
)

MiB = 1024 * 1024
ATTEMPTS = 3  # 1 + the fixtures' 2 retries


# --- retried, then fine --------------------------------------------------------------------


def test_a_transient_503_is_retried_and_the_body_is_sent_again_whole(vercel_blob_storage, vercel_blob):
    vercel_blob.faults.fail(503, "service_unavailable", routes="put", times=2)
    name = vercel_blob_storage.save("retry/body.txt", ContentFile(b"the whole body"))
    assert vercel_blob.request_count("put") == 3
    assert vercel_blob_storage.open(name).read() == b"the whole body"


def test_a_failed_part_is_retried_alone(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**vercel_blob_options, multipart_threshold=5 * MiB, part_size=5 * MiB)
    vercel_blob.faults.fail(500, "internal_server_error", routes="mpu.upload", times=1)
    name = storage.save("retry/parts.bin", ContentFile(b"a" * (5 * MiB) + b"b" * MiB))
    assert vercel_blob.request_count("mpu.create") == 1
    assert vercel_blob.request_count("mpu.upload") == 3  # two parts, one of them twice
    with storage.open(name) as handle:
        assert handle.read() == b"a" * (5 * MiB) + b"b" * MiB


def test_retry_after_is_honoured(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**{**vercel_blob_options, "retry_max_delay": 2.0})
    vercel_blob.faults.rate_limit(retry_after=1, routes="head", times=1)
    started = time.monotonic()
    assert storage.exists("anything.txt") is False
    assert time.monotonic() - started >= 0.95  # our own backoff would have waited 0.01 s
    assert vercel_blob.request_count("head") == 2


def test_a_read_cut_mid_body_resumes_with_a_range_request(vercel_blob_storage, vercel_blob):
    payload = bytes(range(256)) * 4096  # 1 MiB
    name = vercel_blob_storage.save("cut/resume.bin", ContentFile(payload))
    vercel_blob.faults.cut(after_bytes=300_000, routes="content", times=1)
    vercel_blob.reset_counts()
    with vercel_blob_storage.open(name) as handle:
        assert handle.read() == payload
    reads = [request for request in vercel_blob.requests if request.route == "content"]
    assert len(reads) == 2
    assert "range" not in reads[0].headers
    assert reads[1].headers["range"].startswith("bytes=")
    assert int(reads[1].headers["range"][6:-1]) >= 262_144  # resumed where the data stopped, not from 0


def test_a_big_read_cut_mid_body_resumes_where_its_bytes_stopped(vercel_blob_storage, vercel_blob):
    """Reads of 1 MiB skip the buffer (VercelBlobFile.read): a cut there resumes the same way."""
    payload = bytes(range(256)) * 4096 * 3  # 3 MiB
    name = vercel_blob_storage.save("cut/direct.bin", ContentFile(payload))
    vercel_blob.faults.cut(after_bytes=1_500_000, routes="content", times=1)
    vercel_blob.reset_counts()
    with vercel_blob_storage.open(name) as handle:
        chunks = list(iter(lambda: handle.read(MiB), b""))
    assert b"".join(chunks) == payload
    assert [len(chunk) for chunk in chunks] == [MiB, MiB, MiB]
    reads = [request for request in vercel_blob.requests if request.route == "content"]
    assert len(reads) == 2
    resumed_at = int(reads[1].headers["range"].removeprefix("bytes=").removesuffix("-"))
    assert MiB < resumed_at <= 1_500_000  # from the last byte received, not from 0 nor the chunk's start


# --- retried until the budget is spent -----------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 503, "code": "service_unavailable"}, StorageServiceError),
        ({"status": 500, "code": "internal_server_error"}, StorageServiceError),
        ({"status": 502, "code": "bad_gateway"}, StorageServiceError),
    ],
)
def test_server_errors_stop_at_the_budget(vercel_blob_storage, vercel_blob, fault, error):
    vercel_blob.faults.fail(**fault)
    with pytest.raises(error) as raised:
        vercel_blob_storage.exists("x.txt")
    assert isinstance(raised.value, StorageUnavailable)
    assert raised.value.backend == "vercel"
    assert vercel_blob.request_count("head") == ATTEMPTS


def test_a_slow_service_times_out_at_the_budget(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**{**vercel_blob_options, "read_timeout": 0.2})
    vercel_blob.faults.slow(0.6, routes="head")
    with pytest.raises(StorageTimeout):
        storage.exists("slow.txt")
    assert vercel_blob.request_count("head") == ATTEMPTS


def test_an_api_reply_cut_mid_body_is_a_connection_error(vercel_blob_storage, vercel_blob):
    vercel_blob.faults.cut(after_bytes=5, routes="head")
    with pytest.raises(StorageConnectionError):
        vercel_blob_storage.size("x.txt")
    assert vercel_blob.request_count("head") == ATTEMPTS


def test_a_read_cut_every_time_fails_after_the_budget(vercel_blob_storage, vercel_blob):
    name = vercel_blob_storage.save("cut/always.bin", ContentFile(b"z" * 500_000))
    vercel_blob.faults.cut(after_bytes=1000, routes="content")
    vercel_blob.reset_counts()
    handle = vercel_blob_storage.open(name)
    with pytest.raises(StorageConnectionError):
        handle.read()
    handle.close()
    assert vercel_blob.request_count("content") == ATTEMPTS  # the open, then one reopen per retry


def test_refused_connections_are_retried_then_reported(vercel_blob_storage, vercel_blob, caplog):
    vercel_blob.refuse_connections()
    with (
        caplog.at_level(logging.WARNING, logger="storage_app.backends.vercel_blob.storage"),
        pytest.raises(StorageConnectionError) as raised,
    ):
        vercel_blob_storage.save("down.txt", ContentFile(b"x"))
    assert raised.value.backend == "vercel"
    retries = [record for record in caplog.records if "retrying" in record.getMessage()]
    assert len(retries) == ATTEMPTS - 1
    assert vercel_blob.token not in caplog.text
    vercel_blob.accept_connections()
    assert vercel_blob.request_count() == 0
    assert vercel_blob_storage.exists("down.txt") is False


def test_no_retries_means_one_attempt(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**{**vercel_blob_options, "retries": 0})
    vercel_blob.faults.fail(503)
    with pytest.raises(StorageServiceError):
        storage.exists("x.txt")
    assert vercel_blob.request_count() == 1


def test_a_part_that_keeps_failing_leaves_no_blob(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**vercel_blob_options, multipart_threshold=5 * MiB, part_size=5 * MiB)
    vercel_blob.faults.fail(503, routes="mpu.upload")
    with pytest.raises(StorageServiceError):
        storage.save("mpu/never.bin", ContentFile(b"n" * (6 * MiB)))
    vercel_blob.faults.clear()
    assert storage.exists("mpu/never.bin") is False
    assert vercel_blob.request_count("mpu.complete") == 0


# --- not retried ---------------------------------------------------------------------------


def test_a_long_retry_after_is_reported_at_once(vercel_blob_storage, vercel_blob):
    vercel_blob.faults.rate_limit(retry_after=60)
    with pytest.raises(StorageRateLimited) as raised:
        vercel_blob_storage.exists("x.txt")
    assert raised.value.retry_after == 60
    assert isinstance(raised.value, StorageUnavailable)
    assert vercel_blob.request_count("head") == 1


@pytest.mark.parametrize(
    ("fault", "error", "family"),
    [
        ({"status": 403, "code": "store_suspended"}, StorageSuspended, StorageUnavailable),
        ({"status": 400, "code": "store_not_found"}, StorageSuspended, StorageUnavailable),
        ({"status": 403, "code": "forbidden"}, StorageAccessDenied, StorageRejected),
        ({"status": 412, "code": "precondition_failed"}, StoragePreconditionFailed, StorageRejected),
        ({"status": 413, "code": "file_too_large"}, StorageFileTooLarge, StorageRejected),
        (
            {"status": 400, "code": "bad_request", "message": "the file length cannot be greater than 1 byte"},
            StorageFileTooLarge,
            StorageRejected,
        ),
        (
            {"status": 400, "code": "weird_new_code", "message": "Pathname is haunted."},
            StorageRejected,
            StorageRejected,
        ),
    ],
)
def test_errors_that_retrying_cannot_fix_are_raised_at_once(vercel_blob_storage, vercel_blob, fault, error, family):
    vercel_blob.faults.fail(**fault, routes="put")
    with pytest.raises(error) as raised:
        vercel_blob_storage.save("refused.txt", ContentFile(b"x"))
    assert isinstance(raised.value, family)
    assert raised.value.backend == "vercel"
    assert str(fault["status"]) in str(raised.value)
    assert "refused.txt" in str(raised.value)
    assert vercel_blob.request_count("put") == 1


def test_a_rejected_request_names_its_cause(vercel_blob_storage, vercel_blob):
    vercel_blob.faults.fail(400, "bad_request", message="Pathname is haunted.", routes="put")
    with pytest.raises(StorageRejected, match="Pathname is haunted"):
        vercel_blob_storage.save("ghost.txt", ContentFile(b"x"))


def test_a_wrong_secret_is_access_denied(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**{**vercel_blob_options, "token": vercel_blob.token[:-4] + "nope"})
    with pytest.raises(StorageAccessDenied):
        storage.exists("x.txt")
    assert vercel_blob.request_count() == 1


def test_a_missing_blob_is_file_not_found_everywhere(vercel_blob_storage, vercel_blob):
    with pytest.raises(FileNotFoundError):
        vercel_blob_storage.open("gone.txt")
    with pytest.raises(FileNotFoundError):
        vercel_blob_storage.get_created_time("gone.txt")
    assert vercel_blob_storage.exists("gone.txt") is False
    assert vercel_blob.request_count() == 3  # not retried


def test_a_blob_replaced_while_being_read_is_not_spliced(vercel_blob_options, vercel_blob):
    storage = VercelBlobStorage(**vercel_blob_options, allow_overwrite=True)
    storage.save("swap.bin", ContentFile(b"1" * 600_000))
    handle = storage.open("swap.bin")
    assert handle.read(10) == b"1" * 10
    storage.save("swap.bin", ContentFile(b"2" * 600_000))
    handle.seek(500_000)  # outside the buffer: a new ranged GET, which finds another ETag
    with pytest.raises(StoragePreconditionFailed, match="replaced"):
        handle.read(10)
    handle.close()
