"""Time limits under every pool, and a task that keeps killing its worker ends `error` instead of looping."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from documents.extraction import PLAIN
from documents.models import Document
from documents.tasks import document_process_task
from tests.documents.files import stored_document
from uploads.redelivery import KEY_PREFIX, counted_start, time_limits, worker_lost_message

# The shortest limits settings allow: the killed worker's message comes back after 3 s.
LIMITS = {"TASK_SOFT_TIME_LIMIT": "1", "TASK_TIME_LIMIT": "2", "CELERY_VISIBILITY_TIMEOUT": "3"}


def wait_for(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def start_and_wait_for_death(handle) -> None:
    """A worker that kills itself processing the document, waited for until it is dead."""
    try:
        worker = handle.start(INSTANTORY_DOCUMENT_CRASH="1", **LIMITS)
    except RuntimeError:  # it may die of the redelivered message before it says "ready."
        worker = handle.procs[-1]
    worker.wait(timeout=60)
    assert worker.returncode == -9, handle.log()[-3000:]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_twice_mid_task_leaves_the_document_error_with_the_reason(celery_worker_process, user):
    document = stored_document(user, "prices.txt", b"stools 12, bowls 8", PLAIN)
    document_process_task.delay(document.pk)
    start_and_wait_for_death(celery_worker_process)  # first delivery: killed mid-task
    assert Document.objects.get(pk=document.pk).processing_status == "processing"
    time.sleep(3.5)  # the visibility timeout: the unacknowledged message is delivered again
    start_and_wait_for_death(celery_worker_process)  # second delivery: killed again
    time.sleep(3.5)
    celery_worker_process.start(**LIMITS)  # third delivery, to a worker that would not die
    wait_for(
        lambda: Document.objects.get(pk=document.pk).processing_status == "error",
        timeout=60,
        message=f"the document to end in error:\n{celery_worker_process.log()[-3000:]}",
    )
    document.refresh_from_db()
    assert document.processing_error == worker_lost_message(2).replace("time limit of 300 s", "time limit of 2 s")
    assert "stopped 2 times with its worker process killed" in document.processing_error
    # The worker lives on and takes the next task.
    assert celery_worker_process.procs[-1].poll() is None


@pytest.mark.django_db(transaction=True)
def test_a_task_that_finishes_clears_its_count(celery_broker, settings):
    import redis

    client = redis.Redis.from_url(celery_broker)
    client.set(KEY_PREFIX + "test:counted", 2)  # two earlier starts whose process died
    with counted_start("test:counted") as losses:
        assert losses == 2
    with counted_start("test:clears") as losses:
        assert losses == 0
        assert int(client.get(KEY_PREFIX + "test:clears")) == 1  # counted in the broker's Redis
    assert client.get(KEY_PREFIX + "test:clears") is None  # ended in this process: not a loss


def test_the_soft_limit_raises_in_the_task():
    started = time.monotonic()
    with pytest.raises(SoftTimeLimitExceeded), time_limits(0.2, 5):
        time.sleep(3)
    assert time.monotonic() - started < 1
    time.sleep(0.3)  # disarmed: no late alarm


def test_the_hard_limit_kills_the_process():
    code = (
        "import time, django, os\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'instantory.settings_test')\n"
        "django.setup()\n"
        "from uploads.redelivery import time_limits\n"
        "import signal\n"
        "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "with time_limits(0.1, 0.5):\n"
        "    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # a task that swallows its soft limit\n"
        "    time.sleep(10)\n"
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], timeout=30, capture_output=True)
    assert result.returncode == -9, result.stderr.decode()[-2000:]
    assert time.monotonic() - started < 8
