"""The hostile corpus against the whole running system: an HTTP server, a real Celery worker on Redis,
the local Vercel Blob server, nanio (S3) and the local store.

Each case ends as a 4xx with its reason (and nothing stored: no row, no temporary file, no object on
any backend) or as a processed or failed document/upload with a clear error. For every case the
worker process's peak memory growth is measured (its RSS high-water mark, reset before the case):
at most 256 MiB; and no case runs past its time limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from documents.models import Document
from inventory.models import InventoryItem
from storage_app.models import StoredFile
from tests import hostile
from tests.storage_app.fallback_support import local_files, vercel_env
from tests.uploads.files import image_bytes
from uploads.models import UploadTracking
from uploads.redelivery import soft_limit_message

MiB = 1024 * 1024
MEMORY_BUDGET = 256 * MiB
SOFT_LIMIT, HARD_LIMIT = 30, 40
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]
    endpoint: str  # documents | image
    filename: str
    refused: int | None = None  # the 4xx expected at upload, or None: accepted, then processed
    code: str = ""  # the refusal's code
    ends: str = ""  # accepted: the final status (error | complete)
    reason: str = ""  # accepted and failed: words of the recorded error


CASES = [
    Case("docx zip bomb, lying sizes", hostile.docx_zip_bomb_lying_sizes, "documents", "bomb.docx",
         ends="error", reason="damaged or incomplete"),
    Case("docx zip bomb, honest sizes", hostile.docx_zip_bomb_honest_sizes, "documents", "bomb.docx",
         ends="error", reason="unpacks to more than"),
    Case("docx of 1.7 million empty paragraphs", hostile.docx_paragraph_bomb, "documents", "paras.docx",
         ends="error", reason="XML elements"),
    Case("pdf page-tree bomb", hostile.pdf_page_tree_bomb, "documents", "tree.pdf",
         ends="error", reason="more than"),
    Case("pdf page-tree loop", hostile.pdf_page_tree_loop, "documents", "loop.pdf",
         ends="error", reason="page"),
    Case("pdf + html polyglot", hostile.pdf_html_polyglot, "documents", "page.pdf",
         ends="error", reason="PDF is damaged"),
    Case("plain zip bomb as a document", hostile.plain_zip_bomb, "documents", "zeros.docx",
         refused=415, code="unsupported_type"),
    Case("png decompression bomb 12000x12000", hostile.png_decompression_bomb, "image", "black.png",
         refused=400, code="image_too_large"),
    Case("png at the pixel budget 6000x6000 RGB", hostile.png_at_the_pixel_budget, "image", "big.png",
         ends="complete"),
    Case("gif of 3000 frames", hostile.gif_with_thousands_of_frames, "image", "anim.gif", ends="complete"),
    Case("truncated jpeg", hostile.truncated_jpeg, "image", "half.jpg", refused=400, code="corrupt_image"),
    Case("jpeg markers then html", hostile.jpeg_markers_then_html, "image", "page.jpg",
         refused=400, code="corrupt_image"),
    Case("png carrying html", hostile.png_with_html, "image", "poly.png", refused=400, code="corrupt_image"),
    Case("gif/javascript polyglot", hostile.gif_javascript_polyglot, "image", "poly.gif",
         refused=400, code="corrupt_image"),
]  # fmt: skip


def blobs(server) -> list[str]:
    found, _, _ = server.store.list(prefix="", limit=10_000, cursor=None, folded=False)
    return sorted(blob.pathname for blob in found)


class Worker:
    """The worker process's memory: its RSS high-water mark, reset through /proc before each case."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)

    def reset_peak(self) -> int:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")  # 5: reset the peak RSS (VmHWM)
        return self.process.memory_info().rss

    def peak(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.fixture
def system(celery_worker_process, vercel_blob_settings, vercel_blob, s3_settings, settings, live_server, user):
    from rest_framework.authtoken.models import Token

    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGE_BREAKER_FAIL_MAX = 1000
    settings.STORAGES = dict(settings.STORAGES)
    celery_worker_process.env.update(
        {
            **vercel_env(vercel_blob),
            **s3_settings.env(),
            "STORAGE_BACKEND": "vercel",
            "TASK_SOFT_TIME_LIMIT": str(SOFT_LIMIT),
            "TASK_TIME_LIMIT": str(HARD_LIMIT),
        }
    )
    worker = celery_worker_process.start()
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"

    def stored() -> dict:
        """Everything a request could leave behind, everywhere."""
        return {
            "rows": (
                UploadTracking.objects.count(),
                Document.objects.count(),
                InventoryItem.objects.count(),
                StoredFile.objects.count(),
            ),
            "temporary": sorted(p.name for p in Path(settings.TEMP_UPLOAD_ROOT).iterdir()),
            "vercel": blobs(vercel_blob),
            "s3": s3_settings.keys(),
            "local": local_files(Path(settings.LOCAL_STORAGE_ROOT)),
        }

    return session, live_server.url, Worker(worker.pid), stored, celery_worker_process


def send(session, base: str, case: Case, data: bytes) -> requests.Response:
    if case.endpoint == "documents":
        return session.post(f"{base}/api/documents/", files={"file": (case.filename, data)}, timeout=120)
    return session.post(
        f"{base}/api/uploads/", data={"kind": "image"}, files={"file": (case.filename, data)}, timeout=120
    )


def final_state(response: requests.Response, case: Case) -> tuple[str, str]:
    body = response.json()
    if case.endpoint == "documents":
        document = Document.objects.get(pk=body["id"])
        return document.processing_status, document.processing_error
    upload = UploadTracking.objects.get(pk=body["id"])
    return upload.status, upload.last_error


def wait_final(response: requests.Response, case: Case, log: Callable[[], str]) -> tuple[str, str, float]:
    started = time.monotonic()
    while time.monotonic() - started < HARD_LIMIT + 20:
        status, error = final_state(response, case)
        if status in ("complete", "error"):
            return status, error, time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{case.name}: no final state after {HARD_LIMIT + 20} s; worker log:\n{log()[-4000:]}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(400)
def test_the_hostile_corpus_against_the_running_system(system):
    session, base, worker, stored, handle = system
    # Warm up: the worker imports its parsers and loads the embedding model once, outside any case.
    for warm_case, data in [
        (Case("warm-up document", bytes, "documents", "w.txt", ends="complete"), b"stools 12, bowls 8"),
        (Case("warm-up photo", bytes, "image", "w.jpg", ends="complete"), image_bytes("JPEG")),
    ]:
        response = send(session, base, warm_case, data)
        assert response.status_code in (201, 202), response.text
        assert wait_final(response, warm_case, handle.log)[0] == "complete", handle.log()[-4000:]

    report = []
    failures = []
    for case in CASES:
        data = case.build()
        before = stored()
        baseline = worker.reset_peak()
        started = time.monotonic()
        response = send(session, base, case, data)
        if case.refused:
            elapsed = time.monotonic() - started
            ok = response.status_code == case.refused and response.json().get("code") == case.code
            outcome = f"{response.status_code} {response.json().get('code')}"
            if not ok:
                failures.append(f"{case.name}: expected {case.refused} {case.code}, got {response.text[:300]}")
            after = stored()
            if after != before:
                failures.append(f"{case.name}: refused but left something: {before} -> {after}")
        else:
            if response.status_code not in (201, 202):
                failures.append(f"{case.name}: refused at upload: {response.status_code} {response.text[:300]}")
                continue
            status, error, elapsed = wait_final(response, case, handle.log)
            outcome = f"{status}: {error[:80]}"
            if status != case.ends or case.reason not in error:
                failures.append(f"{case.name}: expected {case.ends} ({case.reason!r}), got {status} ({error!r})")
            if error == soft_limit_message() or elapsed >= SOFT_LIMIT:
                failures.append(f"{case.name}: ran past its time limit ({elapsed:.1f} s)")
        growth = worker.peak() - baseline
        size = f"{len(data) / 1024:9.0f} KiB"
        report.append(f"{case.name:42} {size}  {growth / MiB:7.1f} MiB  {elapsed:5.1f} s  {outcome}")
        if growth > MEMORY_BUDGET:
            failures.append(f"{case.name}: the worker grew by {growth / MiB:.0f} MiB")
    assert handle.procs[0].poll() is None, "the worker died"
    print("\n".join(["case, size on the wire, worker peak growth, time, outcome", *report]))
    assert not failures, "\n".join([*failures, "", *report])
