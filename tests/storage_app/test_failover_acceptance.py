"""Issue #4's acceptance, end to end through the real upload path and the configured chain.

Every step goes through what production runs: POST /api/uploads/ → upload_create → promotion →
STORAGES["default"] (FallbackStorage over the local Vercel Blob server, a private nanio and local
disk) → location records; health through GET /api/health/storage; reconcile as a real
`manage.py reconcile_storage` process, SIGKILLed mid-run and run again.
"""

import hashlib
import signal
import threading
import time

import pytest
import requests
from django.core.files.storage import default_storage
from django.urls import reverse
from rest_framework.test import APIClient

from storage_app.breakers import process_breakers
from storage_app.health import PROBE_PREFIX, health_cache_clear
from storage_app.models import StoredFile
from tests.storage_app.fallback_support import (
    chain_env,
    configure_chain,
    local_files,
    manage,
    manage_env,
    start_reconcile,
)
from tests.uploads.files import image_bytes, uploaded
from uploads.models import UploadTracking

HEALTH = reverse("storage-health")


@pytest.fixture
def configured(settings, vercel_blob_settings, s3_outage_peer):
    """The configured chain vercel → s3 → local, from settings, as in production."""
    configure_chain(settings, s3_outage_peer)
    health_cache_clear()
    yield settings
    health_cache_clear()


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(api, name: str, data: bytes, kind: str) -> UploadTracking:
    response = api.post(reverse("upload-list"), {"file": uploaded(name, data), "kind": kind}, format="multipart")
    assert response.status_code == 202, response.content
    return UploadTracking.objects.get(pk=response.json()["id"])


def download(api, upload_row: UploadTracking) -> bytes:
    """The file as its owner gets it over the API (streamed from whichever backend holds it)."""
    if upload_row.kind == "image":
        url = reverse("inventory-item-image", args=[upload_row.inventory_item_id])
    else:
        url = reverse("document-download", args=[upload_row.document_id])
    response = api.get(url)
    assert response.status_code == 200, getattr(response, "content", b"")[:200]
    return b"".join(response.streaming_content)


def thumbnail_name(upload_row: UploadTracking) -> str:
    upload_row.inventory_item.refresh_from_db()
    return upload_row.inventory_item.thumbnail.name


def blobs(server) -> list[str]:
    found, _, _ = server.store.list(prefix="", limit=1000, cursor=None, folded=False)
    return sorted(blob.pathname for blob in found)


def blob_sha256(server, pathname: str) -> str:
    record = server.store.get(pathname)
    assert record is not None, f"{pathname} is not on the Vercel Blob server"
    with server.store.open_content(record) as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def health(client) -> dict:
    response = client.get(HEALTH)
    body = response.json()
    assert response.status_code == (503 if body["status"] == "unavailable" else 200)
    return body


def rows() -> list[tuple]:
    return sorted(StoredFile.objects.values_list("name", "backend", "state", "moving_to", "leftover_on"))


@pytest.mark.django_db(transaction=True)
def test_vercel_down_then_s3_down_then_vercel_back_reconcile_killed_and_rerun(
    configured, api, client, vercel_blob, s3_outage_peer
):
    configured.STORAGE_BREAKER_FAIL_MAX = 1000  # the breaker is proven below; here every save tries Vercel first
    contents = {
        "terms": b"Net 30 days. Stools ship in crates of twelve.\n",
        "photo": image_bytes("PNG", size=(800, 600)),
        "late": b"Written while Vercel Blob and S3 were both down.\n",
    }

    # 1. Vercel Blob down: uploads land on S3; reads, URLs and health follow.
    vercel_blob.refuse_connections()
    terms = upload(api, "terms.txt", contents["terms"], "document")
    photo = upload(api, "stool.png", contents["photo"], "image")
    for row in (terms, photo):
        assert (row.status, row.permanent_backend) == ("complete", "s3"), row.last_error
    photo_thumb = thumbnail_name(photo)
    on_s3 = sorted([terms.permanent_name, photo.permanent_name, photo_thumb])
    assert s3_outage_peer.keys() == on_s3
    assert blobs(vercel_blob) == []
    assert download(api, terms) == contents["terms"]
    assert download(api, photo) == contents["photo"]
    presigned = default_storage.url(terms.permanent_name)
    assert presigned.startswith(f"{s3_outage_peer.server.endpoint}/{s3_outage_peer.bucket}/")
    assert requests.get(presigned, timeout=10).content == contents["terms"]
    report = health(client)
    assert report["status"] == "degraded"
    assert [(b["name"], b["role"], b["status"]) for b in report["backends"]] == [
        ("vercel", "primary", "failing"),
        ("s3", "fallback", "ok"),
        ("local", "fallback", "ok"),
    ]

    # 2. S3 down too: the next upload lands on local disk; everything stays readable that can be.
    s3_outage_peer.server.kill()
    late = upload(api, "late.txt", contents["late"], "document")
    assert (late.status, late.permanent_backend) == ("complete", "local"), late.last_error
    assert local_files(configured.LOCAL_STORAGE_ROOT) == [late.permanent_name]
    assert default_storage.url(late.permanent_name).startswith(f"/files/local/{late.permanent_name}?expires=")
    assert download(api, late) == contents["late"]
    assert health(client)["status"] == "degraded"

    # 3. Both back: a real reconcile process, killed from outside mid-run, then run again.
    vercel_blob.accept_connections()
    s3_outage_peer.server.restart()
    everything = sorted([*on_s3, late.permanent_name])
    vercel_blob.faults.slow(0.3, routes="put")  # each copy takes a moment, so the kill lands mid-run
    env = chain_env(configured, vercel_blob, s3_outage_peer, LOG_LEVEL="error")
    proc = start_reconcile(env)
    for line in proc.stdout:
        if line.startswith("moved: "):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    on_vercel = StoredFile.objects.filter(backend="vercel").count()
    assert 1 <= on_vercel < len(everything), "the kill landed mid-run"
    # Killed mid-way, every file is still readable (from the copy its record names).
    assert download(api, terms) == contents["terms"]
    assert download(api, photo) == contents["photo"]
    assert download(api, late) == contents["late"]

    vercel_blob.faults.clear()
    rerun = manage(env, "reconcile_storage", "--no-progress")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "0 failed" in rerun.stdout

    # Every file home exactly once, verified against the checksum taken when it was uploaded.
    assert rows() == [(name, "vercel", "stored", "", "") for name in everything]
    assert blobs(vercel_blob) == everything  # no duplicate (no suffixed second copy) on Vercel Blob
    assert s3_outage_peer.keys() == []
    assert local_files(configured.LOCAL_STORAGE_ROOT) == []
    for row in (terms, photo, late):
        row.refresh_from_db()
        assert blob_sha256(vercel_blob, row.permanent_name) == row.checksum
        assert StoredFile.objects.get(name=row.permanent_name).checksum == row.checksum
    assert download(api, terms) == contents["terms"]
    assert download(api, photo) == contents["photo"]
    assert download(api, late) == contents["late"]
    assert health(client)["status"] == "healthy"
    # Nothing left to do: a third run moves nothing.
    third = manage(env, "reconcile_storage", "--no-progress", "--json")
    assert third.returncode == 0, third.stderr
    assert '"moved": []' in third.stdout


@pytest.mark.django_db(transaction=True)
def test_once_the_breaker_opens_uploads_no_longer_touch_the_dead_primary(
    configured, api, client, staff_user, vercel_blob, s3_outage_peer
):
    configured.STORAGE_BREAKER_FAIL_MAX = 2
    configured.STORAGE_BREAKER_RESET_TIMEOUT = 600
    vercel_blob.faults.fail(503)  # answered, so every request that reaches the server is counted
    for index in range(2):
        row = upload(api, f"trip-{index}.txt", b"opens the breaker", "document")
        assert row.permanent_backend == "s3"
    assert process_breakers.get("vercel").state == "open"
    touched = vercel_blob.request_count()
    assert touched >= 2

    for index in range(4):
        row = upload(api, f"skip-{index}.txt", f"saved past the open breaker {index}".encode(), "document")
        assert (row.status, row.permanent_backend) == ("complete", "s3")
        assert download(api, row) == f"saved past the open breaker {index}".encode()
    assert vercel_blob.request_count() == touched  # not one more request reached Vercel Blob

    client.force_login(staff_user)
    vercel = client.get(HEALTH + "?fresh=1").json()["backends"][0]
    assert vercel["name"] == "vercel"
    assert vercel["breaker"]["state"] == "open"
    assert vercel["breaker"]["consecutive_failures"] >= 2


def probe_threads_alive(alias: str) -> bool:
    return any(thread.name == f"storage-probe-{alias}" and thread.is_alive() for thread in threading.enumerate())


@pytest.mark.django_db
def test_the_endpoint_answers_within_its_probe_timeout_while_s3_hangs_and_the_late_probe_cleans_up(
    configured, client, staff_user, s3_outage_peer
):
    configured.STORAGE_HEALTH_PROBE_TIMEOUT = 1.0
    s3_outage_peer.server.pause()  # SIGSTOP: the kernel accepts the connection, nothing ever answers
    client.force_login(staff_user)
    try:
        started = time.monotonic()
        response = client.get(HEALTH + "?fresh=1")
        elapsed = time.monotonic() - started
    finally:
        s3_outage_peer.server.resume()
    body = response.json()
    assert response.status_code == 200
    s3 = {b["name"]: b for b in body["backends"]}["s3"]
    assert (s3["status"], s3["ok"], s3["error"]) == ("timeout", False, "no answer within 1 s")
    assert body["status"] == "healthy"  # the primary answered; a hung fallback does not stop saves
    # A hung S3 request would take AWS_S3_READ_TIMEOUT (30 s) per attempt; the answer did not wait for it.
    assert elapsed < 15
    # Resumed, the late probe finishes on its own and deletes what it wrote.
    deadline = time.monotonic() + 60
    while probe_threads_alive("s3"):
        assert time.monotonic() < deadline, "the late S3 probe never finished"
        time.sleep(0.05)
    assert s3_outage_peer.keys(PROBE_PREFIX) == []


@pytest.mark.django_db
def test_probes_leave_nothing_and_show_no_secret_on_any_backend(
    configured, client, staff_user, vercel_blob, s3_outage_peer
):
    client.force_login(staff_user)
    vercel_blob.faults.fail(503, routes="content")  # the read-back fails after the write succeeded
    text = client.get(HEALTH + "?fresh=1").content.decode()
    assert '"status":"degraded"' in text.replace(" ", "")
    found, _, _ = vercel_blob.store.list(prefix="", limit=100, cursor=None, folded=False)
    assert found == []
    assert s3_outage_peer.keys() == []
    assert local_files(configured.LOCAL_STORAGE_ROOT) == []
    for secret in (vercel_blob.token, configured.AWS_SECRET_ACCESS_KEY, configured.AWS_ACCESS_KEY_ID):
        assert secret not in text


@pytest.mark.django_db(transaction=True)
def test_an_unconfigured_machine_runs_on_local_alone_with_one_warning_per_left_out_backend(settings):
    # A real process with no token and no bucket (manage_env drops them): one warning each, at start-up.
    env = manage_env(settings, STORAGE_BACKEND="vercel", LOG_LEVEL="warning")
    code = (
        "from django.core.files.base import ContentFile;"
        "from django.core.files.storage import default_storage;"
        "from storage_app.fallback import FallbackStorage;"
        "from storage_app.health import storage_health;"
        "name = default_storage.save('plain.txt', ContentFile(b'x'));"
        "FallbackStorage().backends; FallbackStorage().backends;"
        "print(default_storage.backend_of(name), storage_health().status)"
    )
    result = manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["local", "healthy"]
    warnings = [line for line in result.stderr.splitlines() if "left out of the fallback chain" in line]
    assert len(warnings) == 2, result.stderr
    assert any("vercel is left out" in w and w.endswith("no BLOB_READ_WRITE_TOKEN") for w in warnings)
    assert any("s3 is left out" in w and w.endswith("no AWS_STORAGE_BUCKET_NAME") for w in warnings)
    # At start-up: a command that never touches storage reports them too.
    checked = manage(env, "check")
    assert checked.returncode == 0, checked.stderr
    assert len([line for line in checked.stderr.splitlines() if "left out of the fallback chain" in line]) == 2
