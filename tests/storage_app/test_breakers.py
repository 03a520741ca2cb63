"""The circuit breaker's state machine, driven by a hand-moved clock (no sleeping)."""

import threading

import pytest

from storage_app.breakers import CLOSED, HALF_OPEN, OPEN, BreakerRegistry, CircuitBreaker, CircuitOpen
from storage_app.exceptions import StorageAccessDenied, StorageConnectionError, StorageTimeout


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def down():
    raise StorageConnectionError("refused")


def up():
    return "ok"


def fail(breaker: CircuitBreaker, times: int) -> None:
    """`times` calls through `breaker` to a backend that is down."""
    for _ in range(times):
        with pytest.raises(StorageConnectionError):
            breaker.call(down)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def breaker(clock):
    return CircuitBreaker("vercel", fail_max=3, reset_timeout=30, clock=clock)


def test_opens_after_fail_max_consecutive_outages_and_then_refuses_without_calling(breaker):
    fail(breaker, 3)
    assert breaker.state == OPEN
    calls = []
    with pytest.raises(CircuitOpen) as refused:
        breaker.call(lambda: calls.append(1))
    assert calls == []
    assert refused.value.backend == "vercel"
    assert "next trial in 30.0 s" in str(refused.value)


def test_a_success_resets_the_consecutive_count(breaker):
    fail(breaker, 2)
    assert breaker.call(up) == "ok"
    fail(breaker, 2)
    assert breaker.state == CLOSED


@pytest.mark.parametrize("error", [StorageAccessDenied("no"), FileNotFoundError("gone"), ValueError("bad input")])
def test_client_errors_missing_files_and_bugs_never_trip_it(breaker, error):
    def fails():
        raise error

    for _ in range(10):
        with pytest.raises(type(error)):
            breaker.call(fails)
    assert breaker.state == CLOSED
    assert breaker.snapshot().failures == 0


def test_after_the_cool_down_one_trial_call_closes_it(breaker, clock):
    fail(breaker, 3)
    clock.now += 29.9
    assert breaker.is_open()
    clock.now += 0.2
    assert breaker.state == HALF_OPEN
    assert breaker.call(up) == "ok"
    assert breaker.state == CLOSED


def test_a_failed_trial_opens_it_again_for_a_full_cool_down(breaker, clock):
    fail(breaker, 3)
    clock.now += 31
    with pytest.raises(StorageTimeout):
        breaker.call(lambda: (_ for _ in ()).throw(StorageTimeout("slow")))
    assert breaker.state == OPEN
    assert breaker.snapshot().retry_in == pytest.approx(30)


def test_half_open_lets_exactly_one_trial_through_while_it_runs(breaker, clock):
    fail(breaker, 3)
    clock.now += 31
    inside, release = threading.Event(), threading.Event()
    results = []

    def slow_trial():
        inside.set()
        release.wait(5)
        return "trial"

    trial = threading.Thread(target=lambda: results.append(breaker.call(slow_trial)))
    trial.start()
    assert inside.wait(5)
    # A second caller during the trial is refused without calling the backend.
    with pytest.raises(CircuitOpen):
        breaker.call(up)
    release.set()
    trial.join(5)
    assert results == ["trial"]
    assert breaker.state == CLOSED


def test_a_trial_ending_in_a_bug_frees_the_slot_for_another_trial(breaker, clock):
    fail(breaker, 3)
    clock.now += 31
    with pytest.raises(KeyError):
        breaker.call(lambda: {}["missing"])
    assert breaker.state == HALF_OPEN
    assert breaker.call(up) == "ok"
    assert breaker.state == CLOSED


def test_calls_are_not_serialised_behind_a_slow_one(breaker):
    # pybreaker's call() holds a lock for the whole call; this breaker must not.
    inside, release = threading.Event(), threading.Event()
    first = threading.Thread(target=lambda: breaker.call(lambda: (inside.set(), release.wait(5))))
    first.start()
    assert inside.wait(5)
    assert breaker.call(up) == "ok"  # would block until `release` if the call held a lock
    release.set()
    first.join(5)


def test_snapshot_shape(breaker):
    with pytest.raises(StorageConnectionError):
        breaker.call(down)
    assert breaker.snapshot().as_dict() == {
        "state": "closed",
        "shared": False,
        "consecutive_failures": 1,
        "fail_max": 3,
        "reset_timeout": 30,
        "retry_in": None,
    }


def test_registry_uses_the_settings_and_forgets_on_new_settings(settings):
    from storage_app.breakers import process_breakers

    settings.STORAGE_BREAKER_FAIL_MAX = 7
    settings.STORAGE_BREAKER_RESET_TIMEOUT = 12.5
    breaker = process_breakers.get("s3")
    assert (breaker.fail_max, breaker.reset_timeout) == (7, 12.5)
    assert process_breakers.get("s3") is breaker
    settings.STORAGE_BREAKER_FAIL_MAX = 2
    assert process_breakers.get("s3").fail_max == 2
    assert BreakerRegistry().get("s3") is not process_breakers.get("s3")


def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="fail_max must be at least 1"):
        CircuitBreaker("x", fail_max=0, reset_timeout=1)
