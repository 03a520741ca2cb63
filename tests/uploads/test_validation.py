import pytest

from tests.uploads.files import PDF_BYTES, docx_bytes, image_bytes, zip_bytes
from uploads.validation import UploadRejected, clean_filename, sniff_type


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("folder/sub/Über Stühle \u2013 Katalog.pdf", "Über Stühle \u2013 Katalog.pdf"),
        ("  .hidden  ", "hidden"),
        ("..", "file"),
        ("", "file"),
        ("<script>alert(1)</script>.png", "script_.png"),  # "/" ends the path first
        ("e\u0301te\u0301.md", "\u00e9t\u00e9.md"),  # NFC
    ],
)
def test_clean_filename(raw, expected):
    assert clean_filename(raw) == expected


def test_very_long_name_is_cut_keeping_the_extension():
    cleaned = clean_filename("a" * 10_000 + ".pdf")
    assert len(cleaned) == 120
    assert cleaned.endswith(".pdf")


@pytest.mark.parametrize("raw", ["evil\x00.jpg", "\x00", "bell\x07\x1b[31mred.txt", "tab\tname.txt", "del\x7f.png"])
def test_nul_and_control_characters_are_refused(raw):
    with pytest.raises(UploadRejected) as excinfo:
        clean_filename(raw)
    assert excinfo.value.code == "invalid_filename"


@pytest.mark.parametrize(
    ("kind", "name", "data", "content_type"),
    [
        ("image", "a.jpg", image_bytes("JPEG"), "image/jpeg"),
        ("image", "a.png", image_bytes("PNG"), "image/png"),
        ("image", "a.gif", image_bytes("GIF"), "image/gif"),
        ("image", "a.webp", image_bytes("WEBP"), "image/webp"),
        ("image", "no-extension", image_bytes("PNG"), "image/png"),
        ("image", "lies.pdf", image_bytes("JPEG"), "image/jpeg"),
        ("document", "a.pdf", PDF_BYTES, "application/pdf"),
        (
            "document",
            "a.docx",
            docx_bytes(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("document", "notes.txt", "Prices: 12 € per stool\n".encode(), "text/plain"),
        ("document", "README.md", b"# Care\n\n* oil monthly\n", "text/markdown"),
    ],
)
def test_type_comes_from_the_content(tmp_path, kind, name, data, content_type):
    path = tmp_path / "upload"
    path.write_bytes(data)
    assert sniff_type(path, kind=kind, filename=name).content_type == content_type


@pytest.mark.parametrize(
    ("kind", "name", "data"),
    [
        ("image", "a.jpg", PDF_BYTES),  # a PDF named like a photo
        ("image", "a.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64),  # a JPEG header and nothing real behind it
        ("document", "a.docx", zip_bytes()),  # a ZIP that is no Word document
        ("document", "a.pdf", image_bytes("PNG")),  # an image is not a document
        ("document", "a.exe", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256))),
        ("document", "a.txt", b"\x00\x01\x02binary"),
        ("video", "a.mp4", b"whatever"),
    ],
)
def test_other_content_is_refused(tmp_path, kind, name, data):
    path = tmp_path / "upload"
    path.write_bytes(data)
    with pytest.raises(UploadRejected) as excinfo:
        sniff_type(path, kind=kind, filename=name)
    assert excinfo.value.code in {"unsupported_type", "corrupt_image", "invalid_kind"}
    assert str(excinfo.value.message)
