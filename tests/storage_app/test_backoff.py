"""The one backoff policy and the numbers each of its users has always had."""

import pytest
from tenacity import RetryCallState, Retrying

from storage_app.backends.vercel_blob.client import RetryPolicy
from storage_app.backoff import DELETE_RETRY, Backoff
from uploads.services.promotion import PROMOTION_RETRY


def test_doubles_from_the_base_up_to_the_cap():
    policy = Backoff(base=1.0, cap=10.0)
    assert [policy.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert policy.delay(0) == 1.0  # before the first retry counts as the first
    assert policy.delay(10_000) == 10.0  # no overflow


def test_jitter_stays_within_the_top_fraction_of_the_ceiling():
    policy = Backoff(base=1.0, cap=8.0, jitter=0.5)
    for attempt in range(1, 8):
        ceiling = policy.ceiling(attempt)
        for _ in range(50):
            assert ceiling / 2 <= policy.delay(attempt) <= ceiling


@pytest.mark.parametrize("arguments", [{"base": -1, "cap": 1}, {"base": 1, "cap": 1, "jitter": 1.5}])
def test_nonsense_is_refused(arguments):
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**arguments)


def test_deferred_deletes_keep_their_numbers():
    # PendingDeletion's old formula: min(30 * 2**attempts, 6 h) after `attempts` failures.
    assert [DELETE_RETRY.delay(n) for n in (1, 2, 3, 9, 10, 50)] == [
        min(30 * 2**n, 6 * 3600) for n in (1, 2, 3, 9, 10, 50)
    ]


def test_promotion_keeps_its_numbers():
    # The promotion's old formula: min(2**attempts, 300) seconds.
    assert [PROMOTION_RETRY.delay(n) for n in range(1, 12)] == [min(2.0**n, 300.0) for n in range(1, 12)]


def test_the_vercel_blob_client_keeps_its_numbers():
    policy = RetryPolicy(retries=5, base_delay=0.5, max_delay=8.0)
    state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
    for attempt in range(1, 9):
        state.attempt_number = attempt
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))  # its old formula, jittered over the upper half
        for _ in range(20):
            assert ceiling / 2 <= policy.wait(state) <= ceiling
