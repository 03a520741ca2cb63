"""Storage health: probes of every backend, the overall verdict, the endpoint and what it may show."""

import json
import threading
import time

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from rest_framework.test import APIClient

from storage_app.exceptions import StorageServiceError
from storage_app.fallback import FallbackStorage
from storage_app.health import health_cache_clear, storage_health
from tests.peers.s3 import SECRET_KEY
from tests.storage_app.backends.shelf import ShelfStorage
from tests.storage_app.fallback_support import chain, local_files, local_storage

HEALTH = reverse("storage-health")


def probe_objects(vercel_blob, s3_peer, local_root) -> list[str]:
    """Everything a probe could have left: Vercel Blob store, S3 bucket, local folder."""
    blobs, _, _ = vercel_blob.store.list(prefix="", limit=1000, cursor=None, folded=False)
    return [blob.pathname for blob in blobs] + s3_peer.keys() + local_files(local_root)


@pytest.fixture(autouse=True)
def no_report_cache(settings):
    settings.STORAGE_HEALTH_CACHE_SECONDS = 0
    health_cache_clear()
    yield
    health_cache_clear()


@pytest.fixture
def configured(db, settings, vercel_blob_settings, s3_settings):
    """The configured chain (settings, not an explicit list): vercel, s3, local."""
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGES = dict(settings.STORAGES)
    return settings


def by_name(report) -> dict:
    return {backend.name: backend for backend in report.backends}


def test_all_up_is_healthy_and_probes_leave_nothing_behind(configured, vercel_blob, s3_settings):
    report = storage_health()
    assert report.status == "healthy"
    assert (report.exit_code, report.http_status, report.primary) == (0, 200, "vercel")
    backends = by_name(report)
    assert [b.name for b in report.backends] == ["vercel", "s3", "local"]
    assert [backends[n].role for n in ("vercel", "s3", "local")] == ["primary", "fallback", "fallback"]
    for backend in report.backends:
        assert backend.ok is True
        assert backend.status == "ok"
        assert backend.latency_ms > 0
        assert backend.breaker["state"] == "closed"
    assert vercel_blob.request_count("put") == 1
    assert vercel_blob.request_count("delete") == 1
    assert probe_objects(vercel_blob, s3_settings, configured.LOCAL_STORAGE_ROOT) == []


def test_primary_down_with_a_working_fallback_is_degraded(configured, vercel_blob):
    vercel_blob.refuse_connections()
    report = storage_health()
    assert (report.status, report.exit_code, report.http_status) == ("degraded", 1, 200)
    vercel = by_name(report)["vercel"]
    assert (vercel.ok, vercel.status) == (False, "failing")
    assert "StorageConnectionError" in vercel.error
    assert by_name(report)["s3"].ok is True


def test_nothing_working_is_unavailable(db, vercel_blob, s3_outage_peer):
    vercel_blob.refuse_connections()
    s3_outage_peer.server.stop()
    report = storage_health(chain(vercel=vercel_blob, s3=s3_outage_peer))
    assert (report.status, report.exit_code, report.http_status) == ("unavailable", 2, 503)


def test_a_failed_read_back_still_deletes_the_probe_object(db, vercel_blob, s3_peer, tmp_path):
    vercel_blob.faults.fail(503, routes="content")
    report = storage_health(chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local"))
    assert by_name(report)["vercel"].status == "failing"
    assert report.status == "degraded"
    assert probe_objects(vercel_blob, s3_peer, tmp_path / "local") == []


def test_a_hung_backend_is_reported_as_timeout_within_the_probe_deadline(db, vercel_blob, s3_outage_peer, tmp_path):
    s3_outage_peer.server.pause()  # accepts connections, never answers (S3 read timeout is 30 s)
    storage = chain(vercel=vercel_blob, s3=s3_outage_peer, local=tmp_path / "local")
    started = time.monotonic()
    report = storage_health(storage, timeout=1.0)
    elapsed = time.monotonic() - started
    assert by_name(report)["s3"].status == "timeout"
    assert by_name(report)["s3"].error == "no answer within 1 s"
    assert report.status == "healthy"
    # The deadline holds: the answer does not wait for the 30 s the hung request could take.
    assert elapsed < 10


def test_breaker_state_is_shown(db, vercel_blob, s3_peer, settings):
    settings.STORAGE_BREAKER_FAIL_MAX = 1
    storage = chain(vercel=vercel_blob, s3=s3_peer)
    vercel_blob.faults.fail(503, routes="put")
    storage.save("opens-the-breaker.txt", ContentFile(b"x"))
    vercel_blob.faults.clear()
    report = storage_health(storage)
    vercel = by_name(report)["vercel"]
    assert vercel.breaker["state"] == "open"
    assert vercel.breaker["retry_in"] > 0
    # The probe goes to the backend itself: it answers again, though saves still skip it for now.
    assert vercel.ok is True


def test_unconfigured_backends_are_listed_with_the_reason(db, settings):
    settings.STORAGE_BACKEND = "vercel"
    settings.BLOB_READ_WRITE_TOKEN = None
    settings.AWS_STORAGE_BUCKET_NAME = None
    settings.STORAGES = dict(settings.STORAGES)
    report = storage_health()
    assert report.primary == "local"
    assert report.status == "healthy"
    rows = {b.name: (b.configured, b.role, b.status, b.reason) for b in report.backends}
    assert rows == {
        "local": (True, "primary", "ok", None),
        "vercel": (False, None, "not_configured", "no BLOB_READ_WRITE_TOKEN"),
        "s3": (False, None, "not_configured", "no AWS_STORAGE_BUCKET_NAME"),
    }


def test_explicit_chain_reports_only_its_backends(db, tmp_path):
    report = storage_health(FallbackStorage([("local", local_storage(tmp_path / "l"))]))
    assert [b.name for b in report.backends] == ["local"]


# --- the endpoint --------------------------------------------------------------------------------


def test_anyone_gets_the_summary_without_details(configured, client, vercel_blob):
    vercel_blob.refuse_connections()
    response = client.get(HEALTH)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"status", "checked_at", "backends"}
    assert body["status"] == "degraded"
    assert body["backends"][0] == {
        "name": "vercel",
        "configured": True,
        "role": "primary",
        "status": "failing",
        "ok": False,
    }
    assert all(set(row) == {"name", "configured", "role", "status", "ok"} for row in body["backends"])


def test_staff_get_latencies_errors_and_breakers(configured, client, staff_user, vercel_blob):
    vercel_blob.refuse_connections()
    client.force_login(staff_user)
    body = client.get(HEALTH).json()
    assert set(body) == {"status", "checked_at", "primary", "probe_timeout", "backends"}
    vercel = body["backends"][0]
    assert vercel["error"].startswith("StorageConnectionError")
    assert vercel["breaker"]["state"] == "closed"
    assert isinstance(body["backends"][1]["latency_ms"], float)


def test_staff_with_a_token_also_get_details(configured, staff_user):
    from rest_framework.authtoken.models import Token

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    assert "primary" in api.get(HEALTH).json()


def test_unavailable_is_503(db, settings, client, vercel_blob_settings, vercel_blob):
    settings.STORAGES = {
        "default": {"BACKEND": "storage_app.fallback.FallbackStorage"},
        "vercel": {"BACKEND": "storage_app.backends.vercel_blob.storage.VercelBlobStorage"},
    }
    vercel_blob.refuse_connections()
    response = client.get(HEALTH)
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


CREDENTIALS_REFUSED = "credentials refused (wrong token, key or secret, or missing permissions)"


def test_no_secret_is_ever_shown(configured, client, staff_user, vercel_blob, settings, s3_settings):
    # Errors are provoked on purpose: a refused token and a wrong S3 secret still name no secret.
    vercel_blob.faults.fail(403, routes="put")
    settings.AWS_SECRET_ACCESS_KEY = "wrong-" + SECRET_KEY
    settings.STORAGES = dict(settings.STORAGES)
    client.force_login(staff_user)
    text = client.get(HEALTH).content.decode()
    for secret in (vercel_blob.token, vercel_blob.token.split("_")[-1], SECRET_KEY, settings.AWS_ACCESS_KEY_ID):
        assert secret not in text
    assert "X-Amz-Signature" not in text
    # A refused secret is the configuration's fault, told apart from an outage (issue #19).
    assert json.loads(text)["backends"][1]["status"] == "misconfigured"


def test_reports_are_reused_within_the_cache_window_and_staff_may_ask_for_a_fresh_one(
    configured, client, staff_user, vercel_blob
):
    configured.STORAGE_HEALTH_CACHE_SECONDS = 60
    client.get(HEALTH)
    client.get(HEALTH)
    assert vercel_blob.request_count("put") == 1  # the second caller got the same report
    client.force_login(staff_user)
    client.get(HEALTH)
    assert vercel_blob.request_count("put") == 1
    client.get(HEALTH + "?fresh=1")
    assert vercel_blob.request_count("put") == 2


def test_concurrent_callers_share_one_probe_run_and_each_answers_within_the_deadline(
    db, settings, vercel_blob_settings, vercel_blob, s3_outage_peer
):
    for key, value in s3_outage_peer.settings().items():
        setattr(settings, key, value)
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGES = dict(settings.STORAGES)
    # No cache window (the autouse fixture): only sharing the run in progress keeps callers from queueing.
    settings.STORAGE_HEALTH_PROBE_TIMEOUT = 2.0
    s3_outage_peer.server.pause()
    reports = []

    def ask() -> None:
        reports.append(storage_health(use_cache=True))

    callers = [threading.Thread(target=ask) for _ in range(4)]
    try:
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(30)
    finally:
        s3_outage_peer.server.resume()
    assert len(reports) == 4
    # One run, shared: each caller waited at most one probe deadline, not one per caller before it.
    assert len({id(report) for report in reports}) == 1
    assert by_name(reports[0])["s3"].status == "timeout"
    assert vercel_blob.request_count("put") == 1  # the backends got one probe, not four


# --- names, reasons and secrets come from the backends -------------------------------------------


def test_backends_are_reported_by_their_storages_alias_with_their_own_reasons(
    db, settings, vercel_blob, vercel_blob_options, tmp_path
):
    settings.SHELF_ROOT = None
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storage_app.fallback.FallbackStorage",
            "OPTIONS": {"backends": ["blob_eu", "shelf", "archive"]},
        },
        "blob_eu": {
            "BACKEND": "storage_app.backends.vercel_blob.storage.VercelBlobStorage",
            "OPTIONS": vercel_blob_options,
        },
        "shelf": {"BACKEND": "tests.storage_app.backends.shelf.ShelfStorage"},
        "archive": {
            "BACKEND": "storage_app.backends.local.storage.LocalStorage",
            "OPTIONS": {"location": tmp_path / "a"},
        },
    }
    vercel_blob.faults.fail(403, "forbidden", routes="put")
    report = storage_health()
    rows = {b.name: (b.configured, b.role, b.status, b.reason) for b in report.backends}
    assert rows == {
        "blob_eu": (True, "primary", "misconfigured", CREDENTIALS_REFUSED),
        "archive": (True, "fallback", "ok", None),
        "shelf": (False, None, "not_configured", "no SHELF_ROOT"),
    }
    assert (report.primary, report.status) == ("blob_eu", "degraded")
    assert by_name(report)["blob_eu"].error.startswith("StorageAccessDenied")
    assert vercel_blob.token not in json.dumps(report.as_dict())


def test_error_texts_are_stripped_of_the_secrets_the_backend_names(db, tmp_path):
    class LeakyShelf(ShelfStorage):
        """A backend whose error text carries its credential and a signed URL."""

        def secrets(self) -> list[str]:
            return ["shelf-secret-123"]

        def _save(self, name, content):
            raise StorageServiceError("https://shelf.example/put?sig=abc refused key shelf-secret-123")

    report = storage_health(FallbackStorage([("shelf", LeakyShelf(root=tmp_path))]))
    assert by_name(report)["shelf"].error == ("StorageServiceError: https://shelf.example/put?… refused key [redacted]")


def test_a_missing_bucket_is_misconfigured_not_healthy_and_warned_about_at_start(configured, s3_peer, caplog):
    from storage_app.health import warn_if_misconfigured

    configured.AWS_STORAGE_BUCKET_NAME = "no-such-bucket-19"
    configured.STORAGES = dict(configured.STORAGES)
    report = storage_health()
    s3 = by_name(report)["s3"]
    assert (s3.status, s3.ok) == ("misconfigured", False)
    assert "bucket" in s3.reason
    assert (report.status, report.exit_code) == ("degraded", 1)  # no longer `healthy` with exit 0
    assert by_name(report)["vercel"].status == "ok"
    with caplog.at_level("WARNING", logger="storage_app.health"):
        assert warn_if_misconfigured() == ["s3"]
    assert "storage backend s3 is misconfigured" in caplog.text


def test_a_backend_that_is_down_is_failing_not_misconfigured(configured, vercel_blob):
    vercel_blob.refuse_connections()
    vercel = by_name(storage_health())["vercel"]
    assert (vercel.status, vercel.reason) == ("failing", None)
