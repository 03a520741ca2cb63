"""The one retry backoff policy: exponential from a base, capped, with optional jitter.

`Backoff(base, cap, jitter).delay(n)` is the wait before retry `n` (1 for the first retry):
`min(cap, base * 2**(n - 1))` seconds, drawn uniformly from the top `jitter` fraction of that
ceiling when `jitter` is set (0.5: between half the ceiling and the ceiling, "equal jitter").

Its users, with the numbers they have always had:

- deferred deletes (storage_app.deletions, DELETE_RETRY): 60 s after the first failure, doubled
  each time, at most 6 hours apart;
- the promotion of an upload (uploads.services.promotion): 2, 4, 8, ... seconds, at most 5 minutes;
- the Vercel Blob client (RetryPolicy): VERCEL_BLOB_RETRY_BASE_DELAY doubled per retry, capped at
  VERCEL_BLOB_RETRY_MAX_DELAY, with equal jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

# 2**62 times any sensible base is past every cap; the exponent stops there so a huge attempt count
# never overflows a float.
_MAX_EXPONENT = 62


@dataclass(frozen=True)
class Backoff:
    base: float  # seconds before the first retry
    cap: float  # no wait is longer
    jitter: float = 0.0  # 0: exact delays; f in (0, 1]: uniform over [ceiling * (1 - f), ceiling]

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0:
            raise ValueError("backoff base and cap must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("backoff jitter is a fraction between 0 and 1")

    def ceiling(self, attempt: int) -> float:
        """The longest wait before retry `attempt` (1-based; anything below 1 counts as 1)."""
        exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
        return min(self.cap, self.base * 2.0**exponent)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry `attempt` (1 for the first retry)."""
        ceiling = self.ceiling(attempt)
        if not self.jitter:
            return ceiling
        return random.uniform(ceiling * (1.0 - self.jitter), ceiling)  # noqa: S311 - jitter, not security

    def next_at(self, attempt: int, now: datetime) -> datetime:
        """When retry `attempt` is due, counted from `now`."""
        return now + timedelta(seconds=self.delay(attempt))


# Deferred deletes of stored files (the StoredFile `deleting` ledger).
DELETE_RETRY = Backoff(base=60.0, cap=6 * 3600.0)
