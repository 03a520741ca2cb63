"""The promotion path through a real Redis broker and real Celery worker processes.

Crash points are reached by the worker killing itself (SIGKILL, no clean-up) at the named step;
the sweep then re-queues the upload and a fresh worker finishes it, leaving exactly one object.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.core.files.storage import default_storage

from tests.uploads.files import uploaded
from uploads.models import UploadTracking
from uploads.services.promotion import permanent_name
from uploads.services.sweep import uploads_sweep
from uploads.services.uploads import upload_create


def wait_for(predicate, timeout: float = 30.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def status_of(upload_id: int) -> str:
    return UploadTracking.objects.get(pk=upload_id).status


def objects_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.django_db(transaction=True)
def test_worker_promotes_a_queued_upload(celery_worker_process, user, settings):
    celery_worker_process.start()
    upload = upload_create(owner=user, file=uploaded("prices.txt", b"stools 12, bowls 8"), kind="document")
    assert status_of(upload.pk) == "pending"  # queued, not run in this process
    wait_for(lambda: status_of(upload.pk) == "complete", message="the worker to complete the upload")
    upload.refresh_from_db()
    assert upload.permanent_backend == "local"
    with default_storage.open(upload.permanent_name) as handle:
        assert handle.read() == b"stools 12, bowls 8"
    # The worker removes the temporary file just after committing 'complete': wait for it, don't race it.
    wait_for(lambda: not any(Path(settings.TEMP_UPLOAD_ROOT).iterdir()), message="the temporary file to go")
    assert "uploads.promote_upload" in celery_worker_process.log()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("point", "status_after_crash", "object_after_crash", "temp_after_crash"),
    [
        ("before_upload", "processing", False, True),
        ("after_upload", "processing", True, True),
        ("after_commit", "complete", True, True),
    ],
)
def test_crash_at_each_step_is_recovered_without_duplicates(
    celery_worker_process, user, settings, point, status_after_crash, object_after_crash, temp_after_crash
):
    crashing = celery_worker_process.start(INSTANTORY_CRASH_AT=point)
    upload = upload_create(owner=user, file=uploaded("contract.txt", b"terms and prices"), kind="document")
    crashing.wait(timeout=30)
    assert crashing.returncode == -9, "the worker died by SIGKILL at the crash point"

    upload.refresh_from_db()
    folder = Path(settings.LOCAL_STORAGE_ROOT) / Path(permanent_name(upload)).parent
    temp = Path(settings.TEMP_UPLOAD_ROOT) / upload.temp_path
    assert upload.status == status_after_crash
    assert bool(objects_in(folder)) == object_after_crash
    assert temp.exists() == temp_after_crash

    celery_worker_process.start()
    report = uploads_sweep(stale_after=0, grace=0)
    if status_after_crash == "processing":
        assert report.requeued == [upload.pk]
    wait_for(lambda: status_of(upload.pk) == "complete", message="the re-queued promotion")
    wait_for(lambda: not temp.exists(), message="the temporary file to go")
    upload.refresh_from_db()
    assert objects_in(folder) == ["contract.txt"]
    assert upload.permanent_name == f"{folder.relative_to(settings.LOCAL_STORAGE_ROOT)}/contract.txt"
    with default_storage.open(upload.permanent_name) as handle:
        assert handle.read() == b"terms and prices"
    assert upload.attempts == (1 if point == "after_commit" else 2)


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_uploads_through_the_api(celery_worker_process, live_server, user, settings):
    from rest_framework.authtoken.models import Token

    celery_worker_process.start()
    token = Token.objects.create(user=user)

    def send(index: int) -> int:
        response = requests.post(
            f"{live_server.url}/api/uploads/",
            headers={"Authorization": f"Token {token.key}"},
            data={"kind": "document"},
            files={"file": (f"note-{index}.txt", f"note number {index}\n".encode(), "text/plain")},
            timeout=60,
        )
        assert response.status_code == 202, response.text
        return response.json()["id"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(send, range(20)))
    assert len(set(ids)) == 20
    wait_for(
        lambda: UploadTracking.objects.filter(pk__in=ids, status="complete").count() == 20,
        timeout=90,
        message="20 complete uploads",
    )
    stored = sorted(p for p in Path(settings.LOCAL_STORAGE_ROOT).rglob("*") if p.is_file())
    assert len(stored) == 20
    assert sorted(p.read_text() for p in stored) == sorted(f"note number {i}\n" for i in range(20))
    wait_for(lambda: not any(Path(settings.TEMP_UPLOAD_ROOT).iterdir()), message="no temporary file left")
