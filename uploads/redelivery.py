"""Bounds on one background task run: its time limits under every pool, and how often it may kill its worker.

- Time limits. Celery enforces `soft_time_limit` / `time_limit` only under the prefork pool; the solo
  pool (`make worker`, the test peers) ignores them. `BoundedTask` arms them itself: at the soft limit
  SIGALRM raises `SoftTimeLimitExceeded` in the task (which records why it stopped), at the hard limit
  a watchdog thread kills the process, as prefork's parent kills a child.
- Worker losses. With `acks_late` + `reject_on_worker_lost`, a task whose process dies (killed out of
  memory by a hostile file, or at the hard limit) is delivered again, forever. Each start of the work
  on one row is counted in Redis (the broker) and the count cleared whenever the run ends in a way the
  process lives through; a start that finds `TASK_MAX_WORKER_LOSSES` uncleared earlier starts does not
  run the work again but calls the task's `give_up`, which marks the row `error` with the reason.
  The count is keyed by the row, not the message, so a re-queue by the sweep (a new message) counts too.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "instantory:worker-losses:"
# A count nobody clears (the row deleted meanwhile) expires on its own.
KEY_TTL_SECONDS = 7 * 24 * 3600


@cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def _client():
    url = settings.CELERY_BROKER_URL or ""
    return _redis(url) if url.startswith(("redis://", "rediss://")) else None


@contextmanager
def counted_start(key: str | None) -> Iterator[int]:
    """Counts this start of the work `key`; yields how many earlier starts ended with their process dead.

    Without a Redis broker (eager mode: no redelivery) or a key, yields 0 and counts nothing.
    """
    client = _client() if key else None
    losses = 0
    if client is not None:
        try:
            redis_key = KEY_PREFIX + key
            losses = int(client.incr(redis_key)) - 1
            client.expire(redis_key, KEY_TTL_SECONDS)
        except Exception as exc:  # the broker is the same Redis: a task without the count still runs
            logger.warning("worker-loss count of %s unavailable: %s", key, type(exc).__name__)
            client = None
    try:
        yield losses
    finally:
        # Reached by every end this process lives through (success, error, retry, soft time limit);
        # a SIGKILL or an OOM kill skips it, which is what the count counts.
        if client is not None:
            try:
                client.delete(KEY_PREFIX + key)
            except Exception as exc:
                logger.warning("worker-loss count of %s not cleared: %s", key, type(exc).__name__)


def _raise_soft_limit(signum, frame) -> None:
    raise SoftTimeLimitExceeded()


def _kill_self() -> None:
    logger.error("task passed its hard time limit; the worker process is killed")
    os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def time_limits(soft: float, hard: float) -> Iterator[None]:
    """SoftTimeLimitExceeded in this (main) thread after `soft` seconds; the process killed after `hard`."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread; such a pool (threads) enforces nothing here
        return
    previous = signal.signal(signal.SIGALRM, _raise_soft_limit)
    signal.setitimer(signal.ITIMER_REAL, soft)
    watchdog = threading.Timer(hard, _kill_self)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        watchdog.cancel()


def worker_lost_message(losses: int) -> str:
    return (
        f"Processing stopped {losses} times with its worker process killed (out of memory or past its "
        f"time limit of {settings.TASK_TIME_LIMIT} s); it is not tried again."
    )


def soft_limit_message() -> str:
    return f"Processing took longer than its time limit of {settings.TASK_SOFT_TIME_LIMIT} s and was stopped."


class BoundedTask(Task):
    """A task with time limits under every pool and, when `loss_key` names its row, a worker-loss count.

    Subclasses (or `shared_task(base=BoundedTask, ...)` tasks) override `loss_key` and `give_up`.
    """

    abstract = True

    @property
    def soft_time_limit(self) -> int:  # read when Celery sends or runs the task, so tests can override it
        return settings.TASK_SOFT_TIME_LIMIT

    @property
    def time_limit(self) -> int:
        return settings.TASK_TIME_LIMIT

    def loss_key(self, *args, **kwargs) -> str | None:
        return None

    def give_up(self, message: str, *args, **kwargs):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        if self.request.is_eager:
            # In-process (no broker): a web request runs it; no signal, watchdog or redelivery applies.
            return super().__call__(*args, **kwargs)
        with counted_start(self.loss_key(*args, **kwargs)) as losses:
            if losses >= settings.TASK_MAX_WORKER_LOSSES:
                logger.error("%s: worker lost %s times; giving up", self.name, losses)
                return self.give_up(worker_lost_message(losses), *args, **kwargs)
            with time_limits(self.soft_time_limit, self.time_limit):
                return super().__call__(*args, **kwargs)
