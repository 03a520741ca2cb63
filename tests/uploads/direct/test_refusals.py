"""Bad input to direct uploads: refused with a reason, nothing kept."""

from __future__ import annotations

import json
import os
import time

import pytest
import requests
from rest_framework.test import APIClient

from storage_app.backends.vercel_blob.client_uploads import callback_signature, generate_client_token
from tests.uploads.direct.conftest import js_upload, wait_for_status
from tests.uploads.files import image_bytes
from uploads.models import UploadTracking
from uploads.services.sweep import uploads_sweep

pytestmark = pytest.mark.django_db(transaction=True)
ROUTE = "/api/uploads/direct/vercel"


def token_request(pathname: str, kind: str = "image", **extra) -> dict:
    client_payload = json.dumps({"kind": kind, **extra})
    return {"type": "blob.generate-client-token", "payload": {"pathname": pathname, "clientPayload": client_payload}}


def key() -> str:
    return "k" + os.urandom(6).hex()


@pytest.fixture
def app(vercel_blob_settings, settings):
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGES = dict(settings.STORAGES)
    return settings


def test_a_token_for_another_users_folder_is_refused(app, api, user, other_user):
    response = api.post(ROUTE, token_request(f"inventory/{other_user.pk}/{key()}/x.jpg"), format="json")
    assert response.status_code == 403
    assert f"inventory/{user.pk}/" in response.json()["error"]["message"]
    assert not UploadTracking.objects.exists()


def test_an_unauthenticated_token_request_is_refused(app, user):
    response = APIClient().post(ROUTE, token_request(f"inventory/{user.pk}/{key()}/x.jpg"), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not UploadTracking.objects.exists()


def test_another_users_item_and_an_unknown_kind_are_refused(app, api, user, other_user):
    from inventory.models import InventoryItem

    theirs = InventoryItem.objects.create(owner=other_user, name="theirs")
    response = api.post(
        ROUTE, token_request(f"inventory/{user.pk}/{key()}/x.jpg", inventory_item=theirs.pk), format="json"
    )
    assert response.status_code == 400
    assert "No such" in response.json()["error"]["message"]
    response = api.post(ROUTE, token_request(f"inventory/{user.pk}/{key()}/x.jpg", kind="file"), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_kind"
    assert not UploadTracking.objects.exists()


def _issue(api, user, name="x.jpg") -> tuple[str, str]:
    pathname = f"inventory/{user.pk}/{key()}/{name}"
    response = api.post(ROUTE, token_request(pathname), format="json")
    assert response.status_code == 200, response.content
    return pathname, response.json()["clientToken"]


def _put(server, pathname: str, token: str, data: bytes, content_type: str | None = None) -> requests.Response:
    headers = {"authorization": f"Bearer {token}", "x-vercel-blob-access": "public", "x-api-version": "12"}
    if content_type:
        headers["x-content-type"] = content_type
    return requests.put(f"{server.api_url}/", params={"pathname": pathname}, data=data, headers=headers, timeout=10)


def test_a_forged_callback_is_refused_and_a_replayed_one_changes_nothing(app, api, user, vercel_blob, settings):
    settings.UPLOAD_DIRECT_CALLBACK_URL = "http://127.0.0.1:9/unreachable"  # the server's own callback is lost
    pathname, token = _issue(api, user)
    assert _put(vercel_blob, pathname, token, image_bytes()).status_code == 200
    row = UploadTracking.objects.get(permanent_name=pathname)
    blob = {"url": f"{vercel_blob.url_base}/{pathname}", "pathname": pathname, "contentType": "image/jpeg"}
    body = json.dumps(
        {"type": "blob.upload-completed", "payload": {"blob": blob, "tokenPayload": json.dumps({"upload": row.pk})}},
        separators=(",", ":"),
    ).encode()
    anonymous = APIClient()
    forged = anonymous.post(ROUTE, body, content_type="application/json", HTTP_X_VERCEL_SIGNATURE="0" * 64)
    assert forged.status_code == 403
    assert forged.json()["error"]["message"] == "Invalid callback signature"
    unsigned = anonymous.post(ROUTE, body, content_type="application/json")
    assert unsigned.status_code == 403
    assert UploadTracking.objects.get(pk=row.pk).status == "awaiting_upload"

    signature = callback_signature(body, vercel_blob.token)
    first = anonymous.post(ROUTE, body, content_type="application/json", HTTP_X_VERCEL_SIGNATURE=signature)
    assert first.status_code == 200, first.content
    done = wait_for_status(row.pk)
    assert done.status == "complete"
    replay = anonymous.post(ROUTE, body, content_type="application/json", HTTP_X_VERCEL_SIGNATURE=signature)
    assert replay.status_code == 409
    assert "replayed" in replay.json()["error"]["message"]
    again = UploadTracking.objects.get(pk=row.pk)
    assert (again.status, again.attempts, again.updated_at) == ("complete", done.attempts, done.updated_at)


def test_an_expired_token_is_refused_by_the_store(app, vercel_blob, user):
    pathname = f"inventory/{user.pk}/{key()}/x.jpg"
    expired = generate_client_token(vercel_blob.token, pathname=pathname, valid_until_ms=int(time.time() * 1000) - 1)
    response = _put(vercel_blob, pathname, expired, image_bytes())
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Token expired"
    forged = generate_client_token("vercel_blob_rw_teststore123_notTheStoresSecretAtAll000", pathname=pathname)
    assert _put(vercel_blob, pathname, forged, image_bytes()).json()["error"]["code"] == "forbidden"
    assert vercel_blob.store.count() == 0


def test_a_token_is_for_its_pathname_only_and_for_uploads_only(app, api, user, vercel_blob):
    pathname, token = _issue(api, user)
    response = _put(vercel_blob, pathname.replace("x.jpg", "y.jpg"), token, image_bytes())
    assert "does not match the token payload" in response.json()["error"]["message"]
    listing = requests.get(vercel_blob.api_url, headers={"authorization": f"Bearer {token}"}, timeout=5)
    assert listing.json()["error"]["code"] == "client_token_not_allowed"
    assert vercel_blob.store.count() == 0


def test_too_large_and_disallowed_types_are_refused_by_the_official_client(
    direct_app, vercel_blob, user, api_token, settings, tmp_path
):
    settings.UPLOAD_MAX_SIZE = 2000
    photo = tmp_path / "big.jpg"
    photo.write_bytes(image_bytes(size=(400, 400)))
    assert photo.stat().st_size > 2000
    route = direct_app.url + ROUTE
    too_large = js_upload(
        vercel_blob,
        pathname=f"inventory/{user.pk}/{key()}/big.jpg",
        file=photo,
        handle_upload_url=route,
        api_token=api_token,
        client_payload={"kind": "image"},
    )
    assert not too_large["ok"], too_large
    assert too_large["name"] == "BlobFileTooLargeError", too_large
    assert "cannot be greater than 2000 bytes" in too_large["message"]
    script = tmp_path / "setup.exe"
    script.write_bytes(b"MZ" + b"\0" * 100)
    wrong_type = js_upload(
        vercel_blob,
        pathname=f"inventory/{user.pk}/{key()}/setup.exe",
        file=script,
        handle_upload_url=route,
        api_token=api_token,
        client_payload={"kind": "image"},
        content_type="application/x-msdownload",
    )
    assert not wrong_type["ok"], wrong_type
    assert wrong_type["name"] == "BlobContentTypeNotAllowedError", wrong_type
    assert "is not allowed" in wrong_type["message"]
    assert vercel_blob.store.count() == 0
    # Their rows awaited an object that never came: past validity + grace the sweep expires them.
    UploadTracking.objects.update(direct_valid_until="2000-01-01T00:00:00Z")
    report = uploads_sweep(grace=0)
    assert len(report.direct_expired) == 2
    assert set(UploadTracking.objects.values_list("status", flat=True)) == {"error"}


def test_html_named_jpg_is_deleted_from_the_store_and_its_row_ends_error(
    direct_app, vercel_blob, user, api_token, tmp_path
):
    fake = tmp_path / "cat.jpg"
    fake.write_bytes(b"<!doctype html><html><script>alert(1)</script></html>")
    pathname = f"inventory/{user.pk}/{key()}/cat.jpg"
    result = js_upload(
        vercel_blob,
        pathname=pathname,
        file=fake,
        handle_upload_url=direct_app.url + ROUTE,
        api_token=api_token,
        client_payload={"kind": "image"},
    )
    assert result["ok"], result  # the store takes it (image/jpeg by its name); the content decides
    row = wait_for_status(UploadTracking.objects.get(permanent_name=pathname).pk)
    assert row.status == "error"
    assert "not an accepted image" in row.last_error
    assert vercel_blob.store.get(pathname) is None
    assert row.inventory_item is None
    from inventory.models import InventoryItem

    assert not InventoryItem.objects.exists()


def test_a_lost_callback_is_made_up_by_the_sweep(app, api, user, vercel_blob, settings):
    settings.UPLOAD_DIRECT_CALLBACK_URL = "http://127.0.0.1:9/unreachable"
    pathname, token = _issue(api, user, name="lamp.png")
    assert _put(vercel_blob, pathname, token, image_bytes("PNG")).status_code == 200
    row = UploadTracking.objects.get(permanent_name=pathname)
    report = uploads_sweep(grace=0)
    assert report.direct_finished == [row.pk]
    row = wait_for_status(row.pk)
    assert row.status == "complete"
    assert row.content_type == "image/png"
    assert vercel_blob.store.get(pathname) is not None


def test_the_upload_page_is_for_signed_in_users_and_staff_have_it_in_the_admin(user, staff_client):
    from django.test import Client

    client = Client()
    assert client.get("/upload/").status_code == 302  # to the login
    client.force_login(user)
    page = client.get("/upload/")
    assert page.status_code == 200
    assert b'id="drop-zone"' in page.content
    assert b"uploads/direct-upload.js" in page.content
    assert f"inventory/{user.pk}/".encode() in page.content
    admin_page = staff_client.get("/admin/uploads/uploadtracking/upload-files/")
    assert admin_page.status_code == 200
    assert b'id="drop-zone"' in admin_page.content
    client.force_login(user)  # not staff: the admin's login page
    assert client.get("/admin/uploads/uploadtracking/upload-files/").status_code == 302
