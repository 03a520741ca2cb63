"""The interactive API docs render in a browser that cannot reach anything but the app."""

import pytest

from tests.browser.conftest import screenshot


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_offline(offline_page, live_server):
    page = offline_page
    page.goto(f"{live_server.url}/api/docs/")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=15_000)
    assert "Instantory API" in title.inner_text()
    page.locator(".opblock-summary-path", has_text="/api/inventory/export.csv").wait_for()
    assert page.locator(".opblock").count() >= 16
    screenshot(page, "api-docs-swagger.png")
    assert page.blocked == []


@pytest.mark.django_db(transaction=True)
def test_redoc_renders_offline(offline_page, live_server):
    page = offline_page
    page.goto(f"{live_server.url}/api/redoc/")
    page.get_by_text("Instantory API").first.wait_for(timeout=15_000)
    page.get_by_text("/api/documents/{document_id}/download").first.wait_for()
    screenshot(page, "api-docs-redoc.png")
    assert page.blocked == []
