"""/metrics: Prometheus text for staff; counters move with uploads, failovers and sweeps."""

from __future__ import annotations

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from storage_app.health import health_cache_clear
from tests.uploads.files import uploaded

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(settings, vercel_blob_settings):
    """The configured chain vercel → local, from settings."""
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGES = dict(settings.STORAGES)  # drops storages and breakers built from older settings
    health_cache_clear()
    return settings


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def upload(client, name: str, capture):
    with capture(execute=True):  # the promotion runs after commit, in-process (no broker)
        response = client.post(
            reverse("upload-list"),
            {"file": uploaded(name, b"metrics, counted.\n"), "kind": "document"},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    return response.json()


def test_anonymous_and_non_staff_are_refused(user):
    assert APIClient().get("/metrics").status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/metrics").status_code == 403


def test_counters_move_after_an_upload_a_failover_and_a_sweep(
    chain, staff_user, vercel_blob, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    client = APIClient()
    client.force_authenticate(staff_user)
    before = scrape(client)

    upload(client, "first.txt", capture)
    after_upload = scrape(client)
    assert value(after_upload, "instantory_storage_requests_total", backend="vercel", operation="save") == (
        value(before, "instantory_storage_requests_total", backend="vercel", operation="save") + 1
    )
    assert value(after_upload, "instantory_storage_request_seconds_count", backend="vercel", operation="save") > value(
        before, "instantory_storage_request_seconds_count", backend="vercel", operation="save"
    )
    assert value(after_upload, "instantory_uploads", status="complete") == 1
    assert value(after_upload, "instantory_storage_breaker_state", backend="vercel", state="closed") == 1

    vercel_blob.refuse_connections()
    row = upload(client, "during-outage.txt", capture)
    assert client.get(reverse("upload-detail", args=[row["id"]])).json()["permanent_backend"] == "local"
    after_failover = scrape(client)
    assert value(after_failover, "instantory_storage_failovers_total", backend="vercel") == (
        value(before, "instantory_storage_failovers_total", backend="vercel") + 1
    )
    assert value(
        after_failover, "instantory_storage_errors_total", backend="vercel", operation="save", kind="outage"
    ) > (value(before, "instantory_storage_errors_total", backend="vercel", operation="save", kind="outage"))
    assert value(after_failover, "instantory_uploads", status="complete") == 2

    from uploads.services.sweep import uploads_sweep

    uploads_sweep()
    after_sweep = scrape(client)
    assert value(after_sweep, "instantory_sweep_runs_total") == value(before, "instantory_sweep_runs_total") + 1
