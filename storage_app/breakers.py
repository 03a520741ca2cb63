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

State lives in this process's memory: each web or worker process learns about an outage on its
own (after `fail_max` failures of its own). That keeps the breaker free of any shared dependency
that could itself be down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

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

    def as_dict(self) -> dict:
        return {
            "state": self.state,
            "consecutive_failures": self.failures,
            "fail_max": self.fail_max,
            "reset_timeout": self.reset_timeout,
            "retry_in": None if self.retry_in is None else round(self.retry_in, 3),
        }


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        fail_max: int,
        reset_timeout: float,
        clock: Callable[[], float] = time.monotonic,
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

    # --- questions ---------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        with self._lock:
            return self._current_state()

    def is_open(self) -> bool:
        """True when a call now would be refused (open and not yet due, or a trial already in flight)."""
        with self._lock:
            state = self._current_state()
            return state == OPEN or (state == HALF_OPEN and self._trial_in_flight)

    def snapshot(self) -> BreakerSnapshot:
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
                self._failure(exc)
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
        with self._lock:
            if self._state != CLOSED:
                logger.info("storage backend %s answers again: circuit breaker closed", self.name)
            self._state = CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def _failure(self, exc: BaseException) -> None:
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
        if trial:
            with self._lock:
                self._trial_in_flight = False

    def reset(self) -> None:
        with self._lock:
            self._state = CLOSED
            self._failures = 0
            self._trial_in_flight = False


class BreakerRegistry:
    """The breakers of one set of backends, by alias, created on first use from the settings."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._breakers: dict[str, CircuitBreaker] = {}

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
                )
                self._breakers[alias] = breaker
            return breaker

    def clear(self) -> None:
        """Forget every breaker (they are re-created, closed, with the current settings)."""
        with self._lock:
            self._breakers.clear()


# The breakers of the configured backends, shared by every FallbackStorage of this process.
process_breakers = BreakerRegistry()


@receiver(setting_changed)
def _forget_breakers_on_new_settings(*, setting: str, **kwargs) -> None:
    """New breaker limits or a new set of backends (tests, override_settings): start from closed breakers."""
    if setting in {"STORAGES", "STORAGE_BREAKER_FAIL_MAX", "STORAGE_BREAKER_RESET_TIMEOUT"}:
        process_breakers.clear()
