"""Fast failover (storage_app.attempts) and breaker state shared through Redis (storage_app.breakers).

Against the real peers: the local Vercel Blob server (refusing, hanging, answering 503), nanio, a
real Redis. The Vercel Blob backend runs on its production retry defaults here, so what is measured
is what a user pays: a refused primary costs a refused connection, a hung one STORAGE_FAILOVER_TIMEOUT.
"""

import time

import pytest
from django.core.files.base import ContentFile

from storage_app.backends.vercel_blob.storage import VercelBlobStorage
from storage_app.breakers import BreakerRegistry
from storage_app.exceptions import StorageServiceError, StorageUnavailable
from storage_app.fallback import FallbackStorage
from tests.peers.net import free_port
from tests.peers.vercel_blob import storage_options
from tests.storage_app.fallback_support import local_storage

PRODUCTION_RETRIES = {
    "retries": 3,
    "retry_base_delay": 0.5,
    "retry_max_delay": 8.0,
    "connect_timeout": 3.0,
    "read_timeout": 30.0,
}


@pytest.fixture
def on_defaults(db, vercel_blob, s3_peer, tmp_path):
    vercel = VercelBlobStorage(**storage_options(vercel_blob, **PRODUCTION_RETRIES))
    storage = FallbackStorage(
        [("vercel", vercel), ("s3", s3_peer.storage()), ("local", local_storage(tmp_path / "local"))]
    )
    # Clients and connections built before the fault, as in a long-lived process: what is timed is the failover.
    storage.save("warm.txt", ContentFile(b"warm"))
    storage.backends[1].storage.exists("warm.txt")
    vercel_blob.reset_counts()
    return storage


def timed_save(storage, name: str) -> tuple[str, float]:
    started = time.perf_counter()
    stored = storage.save(name, ContentFile(b"a photo of a stool"))
    return stored, time.perf_counter() - started


def test_a_refused_primary_moves_the_first_save_on_at_once(on_defaults, vercel_blob):
    vercel_blob.refuse_connections()
    name, seconds = timed_save(on_defaults, "refused.txt")
    assert on_defaults.backend_of(name) == "s3"
    assert seconds < 1.5, f"{seconds:.2f} s: the retry budget (about 2.5 s) was spent on a refused connection"


def test_a_hung_primary_costs_the_failover_timeout_not_the_read_timeout(on_defaults, vercel_blob, settings):
    settings.STORAGE_FAILOVER_TIMEOUT = 1.0
    vercel_blob.faults.slow(20, routes="put")
    name, seconds = timed_save(on_defaults, "hung.txt")
    assert on_defaults.backend_of(name) == "s3"
    assert 1.0 <= seconds < 2.5, f"{seconds:.2f} s"
    assert vercel_blob.counts["put"] == 1  # not retried


def test_a_503_primary_is_left_at_once(on_defaults, vercel_blob, settings):
    settings.STORAGE_FAILOVER_TIMEOUT = 1.0
    vercel_blob.faults.fail(503, routes="put")
    name, seconds = timed_save(on_defaults, "busy.txt")
    assert on_defaults.backend_of(name) == "s3"
    assert seconds < 1.5, f"{seconds:.2f} s"
    assert vercel_blob.counts["put"] == 1  # not retried: S3 takes the save


def test_the_last_backend_keeps_its_retries(db, vercel_blob):
    alone = FallbackStorage(
        [("vercel", VercelBlobStorage(**storage_options(vercel_blob, retry_base_delay=0.01, retry_max_delay=0.02)))]
    )
    vercel_blob.faults.fail(503, routes="put", times=2)
    name = alone.save("patient.txt", ContentFile(b"x"))
    assert alone.backend_of(name) == "vercel"
    assert vercel_blob.counts["put"] == 3
    vercel_blob.faults.fail(503, routes="put")
    with pytest.raises(StorageUnavailable, match="503"):
        alone.save("gives-up.txt", ContentFile(b"x"))


# --- shared breaker state ------------------------------------------------------------------------


def down():
    raise StorageServiceError("503", backend="vercel")


@pytest.fixture
def shared(settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.STORAGE_BREAKER_FAIL_MAX = 3
    settings.STORAGE_BREAKER_RESET_TIMEOUT = 0.5
    first, second = BreakerRegistry(shared=True), BreakerRegistry(shared=True)  # two processes' registries
    first.get("vercel").reset()
    yield first, second
    first.get("vercel").reset()


def test_one_processs_discovery_opens_the_breaker_of_every_process(shared):
    first, second = (registry.get("vercel") for registry in shared)
    for _ in range(2):
        with pytest.raises(StorageServiceError):
            first.call(down)
    with pytest.raises(StorageServiceError):
        second.call(down)  # the third failure fleet-wide, whichever process sees it
    assert first.is_open()
    assert second.is_open()
    snapshot = second.snapshot().as_dict()
    assert (snapshot["state"], snapshot["shared"], snapshot["consecutive_failures"]) == ("open", True, 3)

    time.sleep(0.6)  # reset period over: one trial fleet-wide
    trial_started, release = [], []

    def slow_trial():
        trial_started.append(True)
        while not release:
            time.sleep(0.01)
        return "ok"

    import threading

    thread = threading.Thread(target=lambda: first.call(slow_trial))
    thread.start()
    while not trial_started:
        time.sleep(0.01)
    assert second.is_open()  # the other process waits while the trial is in flight
    release.append(True)
    thread.join(5)
    assert not first.is_open()
    assert not second.is_open()
    assert second.snapshot().as_dict()["state"] == "closed"


def test_an_unreachable_redis_leaves_each_process_its_own_breaker(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.STORAGE_BREAKER_FAIL_MAX = 2
    breaker = BreakerRegistry(shared=True).get("vercel")
    started = time.perf_counter()
    for _ in range(2):
        with pytest.raises(StorageServiceError):
            breaker.call(down)
    assert breaker.is_open()
    assert breaker.snapshot().as_dict()["shared"] is False
    assert time.perf_counter() - started < 1.5  # one short Redis timeout, then local state
