"""A circuit breaker per storage backend: after N consecutive outages, skip the backend for a while.

States (Nygard's): closed (calls go through), open (calls are refused without touching the
backend, for `reset_timeout` seconds), half-open (exactly one trial call is let through; success
closes the breaker, an outage opens it again, other callers keep being refused meanwhile).

Only the StorageUnavailable family counts as a failure. A client error (StorageRejected) or a
missing file (FileNotFoundError) proves the backend answered, so it counts as a success.

Why not pybreaker's `CircuitBreaker.call()`: in pybreaker 1.4.1 `call()` holds the breaker's
RLock for the whole guarded call, so every request to a backend would be serialised behind the
slowest one, and a hung backend would block all threads for its full read timeout. This breaker
only takes its lock to change state, never while the backend is being called.

Shared state. With REDIS_URL (or a Redis CELERY_BROKER_URL) set, the breakers of the configured
chain keep their state in Redis (SharedBreakerState), so one process's discovery protects the fleet:
failures are counted fleet-wide, an open breaker is open in every process, and one half-open trial
per reset period is let through, fleet-wide (a SET NX claim). Redis being unreachable must not
become an outage of its own: its calls have a 0.25 s timeout, and after an error the process keeps
to its own in-memory state for SHARED_RETRY_AFTER seconds before asking Redis again. Without Redis,
the state is per process, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from storage_app.exceptions import StorageRejected, StorageUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class CircuitOpen(StorageUnavailable):
    """The backend is skipped: its breaker is open (or its one half-open trial call is in flight)."""


@dataclass(frozen=True)
class BreakerSnapshot:
    name: str
    state: str
    failures: int
    fail_max: int
    reset_timeout: float
    retry_in: float | None  # seconds until the trial call is allowed, when open
    shared: bool = False  # read from the fleet's state in Redis

    def as_dict(self) -> dict:
        return {
            "state": self.state,
            "shared": self.shared,
            "consecutive_failures": self.failures,
            "fail_max": self.fail_max,
            "reset_timeout": self.reset_timeout,
            "retry_in": None if self.retry_in is None else round(self.retry_in, 3),
        }


@dataclass(frozen=True)
class SharedView:
    state: str
    failures: int
    retry_in: float | None
    trial_in_flight: bool


SHARED_PREFIX = "instantory:storage-breaker"
SHARED_TIMEOUT = 0.25  # seconds per Redis call
SHARED_RETRY_AFTER = 5.0  # seconds on local state after a Redis error
SHARED_TRIPPED_TTL = 24 * 3600  # a breaker opened and never closed again is forgotten after a day


class SharedBreakerState:
    """Breaker state in Redis: keys `<prefix>:<alias>:{open,tripped,failures,trial}`.

    open: set for reset_timeout once the breaker opens (its TTL is the time to the trial);
    tripped: set with it and kept until a success, so "tripped but not open" is half-open;
    failures: consecutive unavailability errors fleet-wide; trial: the one half-open call in flight.
    """

    def __init__(self, url: str, *, prefix: str = SHARED_PREFIX) -> None:
        import redis

        self._redis = redis
        self._client = redis.Redis.from_url(url, socket_timeout=SHARED_TIMEOUT, socket_connect_timeout=SHARED_TIMEOUT)
        self.prefix = prefix
        self._local_until = 0.0
        self._lock = threading.Lock()

    def _keys(self, name: str) -> tuple[str, str, str, str]:
        base = f"{self.prefix}:{name}"
        return f"{base}:open", f"{base}:tripped", f"{base}:failures", f"{base}:trial"

    def _run(self, func: Callable[[Any], T]) -> T | None:
        if time.monotonic() < self._local_until:
            return None
        try:
            return func(self._client)
        except self._redis.RedisError as exc:
            with self._lock:
                if time.monotonic() >= self._local_until:
                    logger.warning(
                        "breaker state in Redis unreachable (%s); per-process state for %.0f s",
                        type(exc).__name__,
                        SHARED_RETRY_AFTER,
                    )
                self._local_until = time.monotonic() + SHARED_RETRY_AFTER
            return None

    def view(self, name: str) -> SharedView | None:
        opened, tripped, failures, trial = self._keys(name)

        def read(client) -> SharedView:
            pipe = client.pipeline(transaction=False)
            pipe.pttl(opened)
            pipe.exists(tripped)
            pipe.get(failures)
            pipe.exists(trial)
            open_ttl, is_tripped, count, in_flight = pipe.execute()
            count = int(count or 0)
            if open_ttl is not None and open_ttl > 0:
                return SharedView(OPEN, count, open_ttl / 1000, bool(in_flight))
            if is_tripped:
                return SharedView(HALF_OPEN, count, None, bool(in_flight))
            return SharedView(CLOSED, count, None, False)

        return self._run(read)

    def claim_trial(self, name: str, ttl: float) -> bool | None:
        trial = self._keys(name)[3]
        return self._run(lambda client: bool(client.set(trial, "1", nx=True, px=max(1, int(ttl * 1000)))))

    def failure(self, name: str, *, fail_max: int, reset_timeout: float, trial: bool) -> bool | None:
        """Count one failure; True when the breaker is (now) open fleet-wide."""
        opened, tripped, failures, trial_key = self._keys(name)

        def count(client) -> bool:
            pipe = client.pipeline(transaction=False)
            pipe.incr(failures)
            pipe.expire(failures, SHARED_TRIPPED_TTL)
            n, _ = pipe.execute()
            if trial or n >= fail_max:
                pipe = client.pipeline(transaction=True)
                pipe.set(opened, "1", px=max(1, int(reset_timeout * 1000)))
                pipe.set(tripped, "1", ex=SHARED_TRIPPED_TTL)
                pipe.delete(trial_key)
                pipe.execute()
                return True
            return False

        return self._run(count)

    def release_trial(self, name: str) -> None:
        self._run(lambda client: client.delete(self._keys(name)[3]))

    def success(self, name: str) -> None:
        self._run(lambda client: client.delete(*self._keys(name)))


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        fail_max: int,
        reset_timeout: float,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedBreakerState | None = None,
    ) -> None:
        if fail_max < 1 or reset_timeout <= 0:
            raise ValueError("fail_max must be at least 1 and reset_timeout positive")
        self.name = name
        self.fail_max = fail_max
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self.shared = shared
        self._shared_dirty = False  # the last shared view was not a clean closed breaker

    def _shared_view(self) -> SharedView | None:
        if self.shared is None:
            return None
        view = self.shared.view(self.name)
        if view is not None:
            self._shared_dirty = view.state != CLOSED or view.failures > 0
        return view

    # --- questions ---------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        view = self._shared_view()
        if view is not None:
            return view.state
        with self._lock:
            return self._current_state()

    def is_open(self) -> bool:
        """True when a call now would be refused (open and not yet due, or a trial already in flight)."""
        view = self._shared_view()
        if view is not None:
            return view.state == OPEN or (view.state == HALF_OPEN and view.trial_in_flight)
        with self._lock:
            state = self._current_state()
            return state == OPEN or (state == HALF_OPEN and self._trial_in_flight)

    def snapshot(self) -> BreakerSnapshot:
        view = self._shared_view()
        if view is not None:
            return BreakerSnapshot(
                self.name, view.state, view.failures, self.fail_max, self.reset_timeout, view.retry_in, shared=True
            )
        with self._lock:
            state = self._current_state()
            retry_in = max(0.0, self._opened_at + self.reset_timeout - self._clock()) if state == OPEN else None
            return BreakerSnapshot(self.name, state, self._failures, self.fail_max, self.reset_timeout, retry_in)

    def _current_state(self) -> str:
        if self._state == OPEN and self._clock() >= self._opened_at + self.reset_timeout:
            self._state = HALF_OPEN
            self._trial_in_flight = False
        return self._state

    # --- calls -------------------------------------------------------------------------------------
    def call(self, func: Callable[..., T], *args, **kwargs) -> T:
        """Run `func` if the breaker allows it, and learn from how it ends."""
        trial = self._admit()
        try:
            result = func(*args, **kwargs)
        except StorageUnavailable as exc:
            if isinstance(exc, CircuitOpen):  # a nested breaker refused: says nothing about this backend
                self._release(trial)
            else:
                self._failure(exc, trial=trial)
            raise
        except (StorageRejected, FileNotFoundError):
            self._success()
            raise
        except BaseException:
            self._release(trial)
            raise
        self._success()
        return result

    def _admit(self) -> bool:
        """Let a call through or raise CircuitOpen; True when the call is the half-open trial."""
        view = self._shared_view()
        if view is not None:
            if view.state == CLOSED:
                return False
            # One trial fleet-wide: it may take up to reset_timeout before another process may try.
            if (
                view.state == HALF_OPEN
                and not view.trial_in_flight
                and self.shared.claim_trial(self.name, self.reset_timeout)
            ):
                return True
            retry_in = view.retry_in or 0.0
            raise CircuitOpen(
                f"{self.name} is skipped after {self.fail_max} consecutive outages (circuit breaker open "
                f"fleet-wide, next trial in {retry_in:.1f} s)",
                backend=self.name,
            )
        with self._lock:
            state = self._current_state()
            if state == CLOSED:
                return False
            if state == HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            retry_in = max(0.0, self._opened_at + self.reset_timeout - self._clock())
        raise CircuitOpen(
            f"{self.name} is skipped after {self.fail_max} consecutive outages (circuit breaker open, "
            f"next trial in {retry_in:.1f} s)",
            backend=self.name,
        )

    def _success(self) -> None:
        if self.shared is not None and (self._shared_dirty or self._failures or self._state != CLOSED):
            self.shared.success(self.name)
            self._shared_dirty = False
        with self._lock:
            if self._state != CLOSED:
                logger.info("storage backend %s answers again: circuit breaker closed", self.name)
            self._state = CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def _failure(self, exc: BaseException, *, trial: bool = False) -> None:
        if self.shared is not None:
            opened = self.shared.failure(
                self.name, fail_max=self.fail_max, reset_timeout=self.reset_timeout, trial=trial
            )
            self._shared_dirty = True
            if opened:
                logger.warning(
                    "storage backend %s: circuit breaker opened fleet-wide for %.1f s after %s",
                    self.name,
                    self.reset_timeout,
                    type(exc).__name__,
                )
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.fail_max:
                if self._state != OPEN:
                    logger.warning(
                        "storage backend %s: circuit breaker opened for %.1f s after %s (%s consecutive)",
                        self.name,
                        self.reset_timeout,
                        type(exc).__name__,
                        self._failures,
                    )
                self._state = OPEN
                self._opened_at = self._clock()
            self._trial_in_flight = False

    def _release(self, trial: bool) -> None:
        """The call ended in a way that says nothing about the backend: free the trial slot."""
        if trial and self.shared is not None:
            self.shared.release_trial(self.name)
        if trial:
            with self._lock:
                self._trial_in_flight = False

    def reset(self) -> None:
        if self.shared is not None:
            self.shared.success(self.name)
        with self._lock:
            self._state = CLOSED
            self._failures = 0
            self._trial_in_flight = False


def shared_state_url() -> str | None:
    """REDIS_URL, else CELERY_BROKER_URL when it is a Redis URL: where the fleet's breaker state lives."""
    for url in (getattr(settings, "REDIS_URL", None), getattr(settings, "CELERY_BROKER_URL", None)):
        if url and url.split(":", 1)[0] in ("redis", "rediss", "unix"):
            return url
    return None


class BreakerRegistry:
    """The breakers of one set of backends, by alias, created on first use from the settings.

    `shared`: keep their state in Redis when shared_state_url() names one (the configured chain's).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, shared: bool = False) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._shared = shared
        self._shared_state: SharedBreakerState | None = None
        self._shared_url: str | None = None

    def shared_state(self) -> SharedBreakerState | None:
        if not self._shared:
            return None
        url = shared_state_url()
        if url is None:
            return None
        if self._shared_state is None or self._shared_url != url:
            self._shared_state, self._shared_url = SharedBreakerState(url), url
        return self._shared_state

    def breakers(self) -> list[CircuitBreaker]:
        """The breakers made so far (for the metrics)."""
        with self._lock:
            return list(self._breakers.values())

    def get(self, alias: str) -> CircuitBreaker:
        with self._lock:
            breaker = self._breakers.get(alias)
            if breaker is None:
                breaker = CircuitBreaker(
                    alias,
                    fail_max=settings.STORAGE_BREAKER_FAIL_MAX,
                    reset_timeout=settings.STORAGE_BREAKER_RESET_TIMEOUT,
                    clock=self._clock,
                    shared=self.shared_state(),
                )
                self._breakers[alias] = breaker
            return breaker

    def clear(self) -> None:
        """Forget every breaker (they are re-created, closed, with the current settings), the shared state too."""
        with self._lock:
            for breaker in self._breakers.values():
                if breaker.shared is not None:
                    breaker.shared.success(breaker.name)
            self._breakers.clear()
            self._shared_state = None


# The breakers of the configured backends, shared by every FallbackStorage of this process.
process_breakers = BreakerRegistry(shared=True)


@receiver(setting_changed)
def _forget_breakers_on_new_settings(*, setting: str, **kwargs) -> None:
    """New breaker limits or a new set of backends (tests, override_settings): start from closed breakers."""
    if setting in {
        "STORAGES",
        "STORAGE_BREAKER_FAIL_MAX",
        "STORAGE_BREAKER_RESET_TIMEOUT",
        "REDIS_URL",
        "CELERY_BROKER_URL",
    }:
        process_breakers.clear()
