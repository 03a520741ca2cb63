"""The admin's storage health page: staff only, linked from the index, the upload queue at a glance."""

from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone

from instantory.admin_site.views import health_overview
from storage_app.models import StoredFile
from uploads.models import UploadTracking

HEALTH = reverse("admin:storage_health")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.django_db
def test_index_links_to_the_health_page(staff_client):
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert f'href="{HEALTH}"' in page


@pytest.mark.django_db
def test_health_page_shows_the_upload_queue_and_pending_deletes(staff_client, user):
    for status in ("pending", "pending", "error"):
        UploadTracking.objects.create(
            owner=user,
            original_filename="a.txt",
            content_type="text/plain",
            size=1,
            checksum="0" * 64,
            kind="document",
            status=status,
        )
    StoredFile.objects.create(
        name="documents/1/1/a.txt", backend="s3", state="deleting", attempts=1, next_attempt_at=timezone.now()
    )
    StoredFile.objects.create(name="documents/1/1/b.txt", backend="s3", state="stored", size=1, checksum="0" * 64)
    response = staff_client.get(HEALTH)
    assert response.status_code == 200
    queue = response.context["queue"]
    assert ("Pending", 2, "pending") in queue["statuses"]
    assert ("Error", 1, "error") in queue["statuses"]
    assert ("Complete", 0, "complete") in queue["statuses"]
    assert queue["pending_deletions"] == 1
    assert queue["oldest_unfinished_age"] is not None
    html = response.content.decode()
    assert 'id="storage-backends"' in html
    assert "/storage_app/storedfile/?state__exact=deleting" in html
    assert "?status__exact=pending" in html


@pytest.mark.django_db
def test_health_page_is_for_staff_only(client, user):
    response = client.get(HEALTH)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    client.force_login(user)
    assert client.get(HEALTH).status_code == 302


@dataclass
class Probe:
    name: str
    ok: bool
    latency_ms: float
    error: str = ""


@pytest.mark.parametrize(
    ("report", "overall", "rows"),
    [
        (
            {"status": "degraded", "backends": {"vercel": {"ok": False, "error": "timeout"}, "local": {"ok": True}}},
            "degraded",
            [("vercel", False, "failing", [("error", "timeout")]), ("local", True, "ok", [])],
        ),
        (
            {"backends": [Probe("s3", True, 4.5), Probe("local", True, 0.2)]},
            "healthy",
            [("s3", True, "ok", [("latency_ms", 4.5)]), ("local", True, "ok", [("latency_ms", 0.2)])],
        ),
        (
            {"checks": [{"alias": "vercel", "status": "unavailable"}]},
            "unhealthy",
            [("vercel", False, "unavailable", [])],
        ),
    ],
)
def test_health_overview_reads_the_report(report, overall, rows):
    got_overall, got_rows = health_overview(report)
    assert got_overall == overall
    assert [(r["name"], r["healthy"], r["status"], r["details"]) for r in got_rows] == rows


@pytest.mark.django_db
def test_health_page_is_a_table_with_badges_and_words(staff_client):
    # The test settings configure local only: vercel and s3 are "not configured", a neutral badge.
    html = staff_client.get(HEALTH, {"fresh": "1"}).content.decode()
    assert "{'" not in html  # no Python dicts printed
    assert 'data-backend="vercel" data-status="not_configured"' in html
    row = html.split('data-backend="vercel"', 1)[1].split("</tr>", 1)[0]
    assert "storage-badge-neutral" in row
    assert "Not configured" in row
    assert "icon-no" not in html
    local = html.split('data-backend="local"', 1)[1].split("</tr>", 1)[0]
    assert "storage-badge-ok" in local
    assert "Closed: taking requests" in local
    assert " ms</td>" in local


def test_breaker_words():
    from instantory.admin_site.views import breaker_words

    assert breaker_words({"state": "closed", "consecutive_failures": 0, "fail_max": 3}) == "Closed: taking requests"
    assert breaker_words({"state": "open", "consecutive_failures": 3, "fail_max": 3, "retry_in": 21.7}) == (
        "Open: skipped after 3 outages in a row; one trial request in 22 s"
    )
    assert breaker_words({"state": "half-open"}) == "Half-open: one trial request decides"
