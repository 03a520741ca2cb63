"""Request bodies go straight into the temporary area, once, hashed, and are refused at the limit."""

from __future__ import annotations

import hashlib
import os

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, RequestFactory, encode_multipart
from django.urls import reverse
from rest_framework.test import force_authenticate

from tests.streams import CountingStream
from tests.uploads.files import image_bytes
from uploads.api.uploads import UploadListCreateApi
from uploads.models import UploadTracking
from uploads.upload_handler import FORM_OVERHEAD

MiB = 1024 * 1024


def multipart(fields: dict) -> bytes:
    return encode_multipart(BOUNDARY, fields)


def post_raw(user, body: bytes, *, content_length: int | None = None):
    """POST /api/uploads/ with `body` as the server's input stream, announcing `content_length`."""
    stream = CountingStream(body)  # the request body as the WSGI server hands it over
    length = len(body) if content_length is None else content_length
    environ = RequestFactory()._base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO=reverse("upload-list"),
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": stream},
    )
    request = WSGIRequest(environ)
    force_authenticate(request, user)
    response = UploadListCreateApi.as_view()(request)
    response.render()
    request.close()  # what the handler does at the end of every request: uploaded files are closed
    return response, stream


def temporary_files(settings) -> list[str]:
    return sorted(os.listdir(settings.TEMP_UPLOAD_ROOT))


@pytest.mark.django_db(transaction=True)
def test_an_upload_is_written_once_into_the_temporary_area_and_taken_over(user, settings, monkeypatch):
    def no_second_copy(*args, **kwargs):
        raise AssertionError("the request's file was copied again into the temporary area")

    monkeypatch.setattr("uploads.services.temporary.write_temporary", no_second_copy)
    data = image_bytes("PNG")
    response, _ = post_raw(user, multipart({"kind": "image", "file": _named(data, "chair.png")}))
    assert response.status_code == 202, response.data
    upload = UploadTracking.objects.get()
    assert upload.status == "complete"  # promoted in-process from the file the request wrote
    assert upload.checksum == hashlib.sha256(data).hexdigest()
    assert upload.size == len(data)
    assert temporary_files(settings) == []  # removed once the permanent copy was committed


@pytest.mark.django_db(transaction=True)
def test_a_body_announced_over_the_limit_is_refused_before_it_is_read(user, settings):
    settings.UPLOAD_MAX_SIZE = 2 * MiB
    body = multipart({"kind": "document", "file": _named(b"x" * (3 * MiB + FORM_OVERHEAD), "big.txt")})
    response, stream = post_raw(user, body)
    assert response.status_code == 413, response.data
    assert response.data["code"] == "file_too_large"
    assert stream.bytes_read == 0
    assert temporary_files(settings) == []
    assert not UploadTracking.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_file_part_is_refused_as_soon_as_it_passes_the_limit(user, settings):
    settings.UPLOAD_MAX_SIZE = 2 * MiB
    # The body is within the limit plus the form's overhead, but its file part is not.
    size = 2 * MiB + FORM_OVERHEAD // 2
    body = multipart({"kind": "document", "file": _named(b"y" * size, "big.txt")})
    response, _ = post_raw(user, body)
    assert response.status_code == 413, response.data
    assert response.data["code"] == "file_too_large"
    assert temporary_files(settings) == []
    assert not UploadTracking.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_refused_type_leaves_nothing_in_the_temporary_area(user, settings):
    body = multipart({"kind": "image", "file": _named(b"<html><script>alert(1)</script>", "evil.jpg")})
    response, _ = post_raw(user, body)
    assert response.status_code in (400, 415), response.data
    assert temporary_files(settings) == []
    assert not UploadTracking.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_form_that_fails_validation_removes_its_streamed_file(user, settings):
    body = multipart({"kind": "no-such-kind", "file": _named(image_bytes("PNG"), "a.png")})
    response, _ = post_raw(user, body)
    assert response.status_code == 400
    assert temporary_files(settings) == []


def _named(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def raw_part_body(filename_header: bytes, data: bytes, fields: dict[str, str]) -> bytes:
    """A multipart body written byte by byte, so a file name can be what no client library would send."""
    boundary = BOUNDARY.encode()
    parts = [
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value.encode()
        for name, value in fields.items()
    ]
    parts.append(
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="file"; '
        + filename_header
        + b"\r\nContent-Type: application/octet-stream\r\n\r\n"
        + data
    )
    return b"\r\n".join(parts) + b"\r\n--" + boundary + b"--\r\n"


# Each of these Django would silently drop or strip (the item made without its photo, the NUL gone).
DROPPED_OR_STRIPPED_NAMES = {
    "nul": b'filename="evil\x00.txt"',
    "control": b'filename="bell\x07.txt"',
    "dot": b'filename="."',
    "dot-dot": b'filename=".."',
    "only-a-path": b'filename="../"',
    "invalid-utf8": b'filename="caf\xe9.txt"',
    "invalid-utf8-ext": b"filename*=UTF-8''caf%E9.txt",
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", sorted(DROPPED_OR_STRIPPED_NAMES))
def test_a_file_part_django_would_drop_is_a_400(user, settings, case):
    body = raw_part_body(DROPPED_OR_STRIPPED_NAMES[case], b"stools 12", {"kind": "document"})
    response, _ = post_raw(user, body)
    assert response.status_code == 400, response.data
    assert response.data["code"] == "invalid_filename"
    assert temporary_files(settings) == []
    assert not UploadTracking.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_name_that_is_fine_passes_the_part_check(user, settings):
    body = raw_part_body('filename="Über Stühle.txt"'.encode(), b"stools 12", {"kind": "document"})
    response, _ = post_raw(user, body)
    assert response.status_code == 202, response.data
    assert response.data["original_filename"] == "Über Stühle.txt"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", ["nul", "dot", "invalid-utf8"])
def test_an_inventory_item_with_a_dropped_photo_part_is_refused_over_http(live_server, user, settings, case):
    """Through a real HTTP server: the item is not created without its photo (it used to be, with a 201)."""
    import requests
    from rest_framework.authtoken.models import Token

    from inventory.models import InventoryItem

    token = Token.objects.create(user=user)
    body = raw_part_body(DROPPED_OR_STRIPPED_NAMES[case], image_bytes("PNG"), {"name": "Stool"})
    body = body.replace(b'name="file"', b'name="image"')
    response = requests.post(
        f"{live_server.url}/api/inventory/",
        data=body,
        headers={"Authorization": f"Token {token.key}", "Content-Type": MULTIPART_CONTENT},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_filename"
    assert not InventoryItem.objects.exists()
    assert temporary_files(settings) == []
