"""How long one call to a backend may take before the chain moves on (fast failover).

A backend with somewhere else to go (a next backend in the save chain, a replica to read from) is
called inside `failover_attempt()`: an unavailability error there (a refused or reset connection, a
timeout, a 5xx) is not retried, the caller moves on to the next backend at once (the breaker's
half-open trial retries the backend later, not the user's request), and each request waits at most
STORAGE_FAILOVER_TIMEOUT seconds for an answer (the per-attempt deadline that bounds a hung backend).
The last backend of a chain is called outside any scope: its
own retry settings (VERCEL_BLOB_RETRIES, AWS_S3_MAX_ATTEMPTS) apply in full, as there is nowhere
else to go.

A context variable rather than an argument: the backends keep Django's Storage signatures, and the
scope follows the call into the backend's client without every layer passing it on. Worker threads
a backend starts (Vercel Blob's parallel parts) do not inherit it and keep the full policy.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class AttemptScope:
    timeout: float  # seconds a request may wait for an answer
    deadline: float  # time.monotonic() after which no retry starts

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


_scope: ContextVar[AttemptScope | None] = ContextVar("storage_attempt_scope", default=None)


@contextlib.contextmanager
def failover_attempt(timeout: float | None = None) -> Iterator[AttemptScope]:
    """Calls inside fail fast: no retry of connection errors or timeouts, bounded waits."""
    timeout = settings.STORAGE_FAILOVER_TIMEOUT if timeout is None else timeout
    scope = AttemptScope(timeout=timeout, deadline=time.monotonic() + timeout)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


@contextlib.contextmanager
def full_attempt() -> Iterator[None]:
    """Calls inside get the backend's full retry policy, even within a failover scope."""
    token = _scope.set(None)
    try:
        yield
    finally:
        _scope.reset(token)


def current_scope() -> AttemptScope | None:
    return _scope.get()


def request_timeout(connect: float, read: float) -> tuple[float, float]:
    """(connect, read) timeouts of one request in the current scope."""
    scope = _scope.get()
    if scope is None:
        return connect, read
    return min(connect, scope.timeout), min(read, scope.timeout)


def may_retry(exc: BaseException) -> bool:
    """Whether the current scope allows another attempt after `exc` (an unavailability error)."""
    # Somewhere else to go: no retry here, whatever the error (a connection refused or reset, a
    # timeout, a 5xx); outside a scope (the last backend of the chain) the backend's retries apply.
    return _scope.get() is None
