"""Every stored file served to a client: attachment unless a safe image type, never sniffed, sandboxed."""

from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from storage_app.responses import stored_file_response


@pytest.mark.parametrize(
    ("name", "content_type", "disposition"),
    [
        ("photo.jpg", None, "inline"),
        ("photo.png", "image/png", "inline"),
        ("anim.gif", None, "inline"),
        ("page.html", None, "attachment"),  # stored through storage_manager as text/html
        ("page.bin", "text/html", "attachment"),
        ("vector.svg", None, "attachment"),  # SVG runs script: not a safe image
        ("notes.txt", None, "attachment"),
        ("contract.pdf", "application/pdf", "attachment"),
    ],
)
def test_served_files_carry_their_guards(tmp_path, name, content_type, disposition):
    storage = FileSystemStorage(location=tmp_path)
    stored = storage.save(name, ContentFile(b"<html><script>alert(1)</script></html>"))
    response = stored_file_response(SimpleNamespace(name=stored, storage=storage), content_type=content_type)
    try:
        assert response["Content-Disposition"].startswith(disposition)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "sandbox"
        assert response["Cache-Control"] == "private, max-age=0"
    finally:
        response.close()
