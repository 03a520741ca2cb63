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
