"""The one exception handler (instantory.api.exception_handler) and the JSON error pages under /api/.

Each family of errors is raised by a test-only API view mounted beside the site's routes (this
module is the URLconf of the tests marked `urls`), so the answer is the one the configured handler
gives through DRF and Django; one storage outage comes from a real (local) Vercel Blob server.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import path, reverse
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from documents.embedders import EmbedderError, EmbedderUnavailable
from documents.models import Document
from instantory import urls as site_urls
from instantory.api import error_views
from instantory.api.exception_handler import STORAGE_FILE_TOO_LARGE, STORAGE_REJECTED, STORAGE_UNAVAILABLE
from storage_app.exceptions import (
    StorageAccessDenied,
    StorageConnectionError,
    StorageFileExists,
    StorageFileTooLarge,
    StorageRateLimited,
    StorageServiceError,
    StorageUnavailable,
)
from uploads.validation import UploadRejected

SECRET = "https://bucket-7f3a.internal.example/objects?token=s3cr3t"

RAISED = {
    "unsupported_type": UploadRejected("The content is application/pdf, which is not ...", code="unsupported_type"),
    "file_too_large": UploadRejected("The file is 5000 bytes; the largest ...", code="file_too_large"),
    "empty_file": UploadRejected("The file is empty.", code="empty_file"),
    "corrupt_image": UploadRejected("The image cannot be read: truncated.", code="corrupt_image"),
    "model_fields": DjangoValidationError({"name": ["This field cannot be blank."], "tags": ["Too many."]}),
    "model_message": DjangoValidationError("Unknown ordering field."),
    "unavailable": StorageUnavailable(f"no backend answered: {SECRET}", backend="vercel"),
    "connection": StorageConnectionError(f"connection refused by {SECRET}", backend="vercel"),
    "service": StorageServiceError("500 from the store", backend="s3"),
    "rate_limited": StorageRateLimited("slow down", backend="vercel", retry_after=4.2),
    "rate_limited_briefly": StorageRateLimited("slow down", backend="vercel", retry_after=0.2),
    "rate_limited_no_wait": StorageRateLimited("slow down", backend="vercel"),
    "access_denied": StorageAccessDenied(f"403 from {SECRET}", backend="s3"),
    "file_exists": StorageFileExists("documents/a.txt exists", backend="local"),
    "storage_too_large": StorageFileTooLarge(f"413 from {SECRET}", backend="vercel"),
    "embedder": EmbedderError("the model refused the request"),
    "embedder_unavailable": EmbedderUnavailable("nothing listening on the embeddings URL"),
    "not_found": Http404("No such row."),
    "permission": PermissionDenied(),
    "bug": RuntimeError("an unexpected bug"),
}


class RaisingApi(APIView):
    """Raises RAISED[case]; reports refused files under the default field."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request, case: str):
        raise RAISED[case]


class PhotoRaisingApi(RaisingApi):
    """As an inventory item's API does: a refused file is the photo."""

    def rejected_field(self, exc: UploadRejected) -> str:
        return "image"


def boom(request):
    raise RuntimeError("an unexpected bug outside the API")


urlpatterns = [
    path("api/test-raise/<str:case>/", RaisingApi.as_view()),
    path("api/test-raise-photo/<str:case>/", PhotoRaisingApi.as_view()),
    path("test-boom/", boom),
    *site_urls.urlpatterns,
]
handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500

URLS = pytest.mark.urls(__name__)


def raised(case: str, *, photo: bool = False):
    client = Client(raise_request_exception=False)
    return client.get(f"/api/test-raise{'-photo' if photo else ''}/{case}/")


@URLS
@pytest.mark.parametrize(
    ("case", "status"),
    [("unsupported_type", 415), ("file_too_large", 413), ("empty_file", 400), ("corrupt_image", 400)],
)
def test_a_refused_upload_names_the_file_field_and_the_code(case, status):
    response = raised(case)
    assert response.status_code == status
    assert response.json() == {"file": [RAISED[case].message], "code": case}
    assert "Retry-After" not in response


@URLS
def test_a_refused_upload_is_reported_under_the_views_field():
    response = raised("file_too_large", photo=True)
    assert response.status_code == 413
    assert response.json() == {"image": [RAISED["file_too_large"].message], "code": "file_too_large"}


@URLS
def test_a_django_validation_error_is_a_400_naming_the_fields():
    response = raised("model_fields")
    assert response.status_code == 400
    assert response.json() == {"name": ["This field cannot be blank."], "tags": ["Too many."]}
    message = raised("model_message")
    assert message.status_code == 400
    assert message.json() == {"detail": ["Unknown ordering field."]}


@URLS
@pytest.mark.parametrize("case", ["unavailable", "connection", "service", "rate_limited_no_wait"])
def test_a_storage_outage_is_a_503_retried_after_the_breakers_reset_timeout(settings, case):
    response = raised(case)
    assert response.status_code == 503
    assert response.json() == {"detail": STORAGE_UNAVAILABLE}
    assert response["Retry-After"] == "30"  # STORAGE_BREAKER_RESET_TIMEOUT's default
    settings.STORAGE_BREAKER_RESET_TIMEOUT = 12.1
    assert raised(case)["Retry-After"] == "13"  # whole seconds, rounded up
    assert "s3cr3t" not in raised(case).content.decode()


@URLS
@pytest.mark.parametrize(("case", "seconds"), [("rate_limited", "5"), ("rate_limited_briefly", "1")])
def test_a_rate_limited_storage_asks_for_the_services_own_wait(case, seconds):
    response = raised(case)
    assert response.status_code == 503
    assert response.json() == {"detail": STORAGE_UNAVAILABLE}
    assert response["Retry-After"] == seconds


@URLS
@pytest.mark.parametrize(
    ("case", "status", "detail"),
    [
        ("access_denied", 400, STORAGE_REJECTED),
        ("file_exists", 400, STORAGE_REJECTED),
        ("storage_too_large", 413, STORAGE_FILE_TOO_LARGE),
    ],
)
def test_a_storage_refusal_is_a_4xx_that_reveals_nothing_of_the_backend(case, status, detail):
    response = raised(case)
    assert response.status_code == status
    assert response.json() == {"detail": detail}
    assert "Retry-After" not in response
    assert "s3cr3t" not in response.content.decode()


@URLS
@pytest.mark.parametrize("case", ["embedder", "embedder_unavailable"])
def test_an_embedder_error_is_a_503_with_retry_after(case):
    response = raised(case)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {"detail": f"Search is unavailable: the query could not be embedded ({RAISED[case]})."}


@URLS
def test_http404_and_permission_denied_are_answered_as_drf_does():
    missing = raised("not_found")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No such row."}
    denied = raised("permission")
    assert denied.status_code == 403
    assert denied.json() == {"detail": "You do not have permission to perform this action."}


@URLS
def test_an_unexpected_error_in_an_api_view_is_a_json_500():
    response = raised("bug")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "A server error occurred."}
    assert "unexpected bug" not in response.content.decode()


@URLS
def test_an_unexpected_error_elsewhere_is_djangos_html_500():
    response = Client(raise_request_exception=False).get("/test-boom/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_the_site_answers_errors_under_api_with_json_and_elsewhere_with_html():
    factory = RequestFactory()
    assert site_urls.handler500 == "instantory.api.error_views.server_error"
    api = error_views.server_error(factory.get("/api/inventory/"))
    assert (api.status_code, api["Content-Type"]) == (500, "application/json")
    page = error_views.server_error(factory.get("/admin/"))
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")
    denied = error_views.permission_denied(factory.get("/api/uploads/"), PermissionDenied())
    assert (denied.status_code, denied["Content-Type"]) == (403, "application/json")
    bad = error_views.bad_request(factory.get("/api"), ValueError())
    assert (bad.status_code, bad["Content-Type"]) == (400, "application/json")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/no-such-thing/", "/api/inventory/not-a-number/", "/api/"])
def test_an_unknown_path_under_api_is_a_json_404(api, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_an_unknown_page_elsewhere_is_djangos_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_method_an_api_does_not_take_is_a_json_405(api):
    response = api.put(reverse("upload-list"), {}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": 'Method "PUT" not allowed.'}


@pytest.mark.django_db(transaction=True)
def test_a_download_while_its_storage_is_down_is_a_503_with_retry_after(
    api, user, settings, vercel_blob_settings, vercel_blob
):
    """End to end: the file is on a (real, local) Vercel Blob server that starts failing."""
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGE_BREAKER_RESET_TIMEOUT = 42.5
    settings.STORAGES = dict(settings.STORAGES)  # the chain (and its breakers) rebuilt from these settings
    document = Document.objects.create(owner=user, title="Terms", content_type="text/plain", size=5)
    document.file.name = default_storage.save(f"documents/{user.pk}/1/terms.txt", ContentFile(b"terms"))
    document.save()
    assert default_storage.backend_of(document.file.name) == "vercel"
    url = reverse("document-download", args=[document.pk])
    assert b"".join(api.get(url).streaming_content) == b"terms"

    vercel_blob.faults.fail(503)
    response = api.get(url, HTTP_ACCEPT="text/plain")  # asking for the file's type still gets the JSON error
    assert response.status_code == 503
    assert response["Retry-After"] == "43"
    assert response.json() == {"detail": STORAGE_UNAVAILABLE}
