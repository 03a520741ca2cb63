"""Text from real PDF, DOCX, plain text and Markdown files, and a clear error for every file that gives none."""

import io
import zipfile

import docx
import pytest

from documents.extraction import DOCX, MARKDOWN, PDF, PLAIN, ExtractionError, clean_text, extract_text
from tests.documents.files import (
    docx_bytes,
    encrypted_pdf_bytes,
    image_only_pdf_bytes,
    pdf_bytes,
)
from tests.streams import CountingStream

CONTRACT = "Supplier agreement: Kanju Crafts delivers 200 beaded stools per quarter, payment net 30 days."


def extract(data: bytes, content_type: str = "", filename: str = ""):
    return extract_text(io.BytesIO(data), content_type=content_type, filename=filename)


def test_pdf_text_and_page_count():
    result = extract(pdf_bytes([CONTRACT, "Page two: late deliveries are refunded at 5% per week."]), PDF)
    assert result.page_count == 2
    assert "200 beaded stools per quarter" in result.text
    assert "late deliveries are refunded" in result.text
    assert result.text.index("Kanju") < result.text.index("Page two")


def test_docx_paragraphs_and_tables_in_document_order():
    data = docx_bytes(
        ["Price list for beaded stools", "Prices in USD, valid until March."],
        table=[["Item", "Price"], ["Small stool", "45.00"], ["Large stool", "80.00"]],
    )
    result = extract(data, DOCX)
    assert result.page_count is None
    assert result.text.startswith("Price list for beaded stools\nPrices in USD")
    assert "Small stool | 45.00" in result.text
    assert "Large stool | 80.00" in result.text


def test_plain_text_keeps_unicode_and_drops_control_characters():
    text = "Café order №42 — 12 woven baskets\x07\x1b from Kigali.\r\nSecond line."
    result = extract(text.encode(), PLAIN)
    assert result.text == "Café order №42 — 12 woven baskets from Kigali.\nSecond line."
    assert result.page_count is None


def test_text_in_windows_encoding_and_utf16_is_decoded():
    assert extract("Crème brûlée bowls".encode("cp1252"), PLAIN).text == "Crème brûlée bowls"
    assert extract("Teak bowls, ½ price".encode("utf-16"), PLAIN).text == "Teak bowls, ½ price"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_huge_text_file_is_read_only_as_far_as_max_chars(encoding):
    # "é" takes 2 bytes in both encodings, so the cut also lands inside characters.
    data = (("é" * 50 + "\n") * 200_000).encode(encoding)  # ~20 MiB
    stream = CountingStream(data)
    result = extract_text(stream, content_type=PLAIN, max_chars=10_000)
    assert stream.bytes_read <= 8 + 10_000 * 4 + 4 + 1  # the 8-byte sniff, the bound, one byte to see more
    assert len(result.text) <= 10_000
    assert set(result.text) == {"é", "\n"}  # no replacement characters, no cp1252 mojibake
    assert len(result.text) > 9_000


def test_max_chars_leaves_a_short_file_whole():
    assert extract_text(io.BytesIO("Crème".encode()), content_type=PLAIN, max_chars=1000).text == "Crème"


def test_markdown_markup_is_removed():
    markdown = (
        "# Care instructions\n\n"
        "Dust **woven baskets** with a *soft* brush. See [the guide](https://example.com/care).\n\n"
        "- Keep out of direct sun\n- Never soak in water\n\n"
        "| Item | Care |\n|---|---|\n| Basket | brush |\n"
    )
    text = extract(markdown.encode(), MARKDOWN).text
    assert "Care instructions" in text
    assert "Dust woven baskets with a soft brush. See the guide." in text
    assert "Keep out of direct sun" in text
    for markup in ("#", "**", "](", "https://", "---"):
        assert markup not in text


@pytest.mark.parametrize(
    ("data", "filename", "kind"),
    [
        (b"%PDF", "x.pdf", "pdf"),
        (b"plain words", "notes.txt", "text"),
        (b"# Title", "notes.md", "markdown"),
    ],
)
def test_kind_comes_from_the_name_when_the_content_type_is_unknown(data, filename, kind):
    if kind == "pdf":
        with pytest.raises(ExtractionError, match="PDF is damaged"):
            extract(data, "", filename)
    else:
        assert extract(data, "", filename).text in ("plain words", "Title")


def test_kind_comes_from_the_bytes_without_type_or_name():
    assert "beaded stools" in extract(pdf_bytes([CONTRACT])).text
    assert "beaded stools" in extract(docx_bytes([CONTRACT])).text


def test_empty_file():
    with pytest.raises(ExtractionError, match="The file is empty"):
        extract(b"", PDF)


@pytest.mark.parametrize("content_type", [PDF, DOCX, PLAIN, MARKDOWN])
def test_whitespace_only_content_has_no_text(content_type):
    data = {PDF: pdf_bytes(["   "]), DOCX: docx_bytes(["", "  "])}.get(content_type, b"  \n\t \n")
    with pytest.raises(ExtractionError, match="No text was found"):
        extract(data, content_type)


def test_scanned_pdf_without_a_text_layer_says_so_and_counts_pages():
    with pytest.raises(ExtractionError, match="scanned PDF") as caught:
        extract(image_only_pdf_bytes(), PDF)
    assert caught.value.page_count == 1


@pytest.mark.parametrize("cut", [0.5, 0.1])
def test_truncated_pdf(cut):
    data = pdf_bytes([CONTRACT, "more"])
    with pytest.raises(ExtractionError, match="PDF is damaged"):
        extract(data[: int(len(data) * cut)], PDF)


def test_pdf_that_is_not_a_pdf():
    with pytest.raises(ExtractionError, match="PDF is damaged"):
        extract(b"%PDF-1.7\n" + bytes(range(256)) * 20, PDF)


def test_password_protected_pdf():
    data = encrypted_pdf_bytes(CONTRACT, user_password="open sesame")
    with pytest.raises(ExtractionError, match="protected by a password"):
        extract(data, PDF)


@pytest.mark.parametrize("algorithm", ["AES-256", "AES-128", "RC4-128"])
def test_pdf_encrypted_with_an_empty_user_password_is_read(algorithm):
    # Restrictions-only PDFs (an owner password, no user password) open in every reader.
    data = encrypted_pdf_bytes(CONTRACT, user_password="", algorithm=algorithm)
    assert "beaded stools" in extract(data, PDF).text


def test_truncated_docx():
    data = docx_bytes([CONTRACT])
    with pytest.raises(ExtractionError, match="DOCX file is damaged or incomplete"):
        extract(data[: len(data) // 2], DOCX)


def test_zip_that_is_not_a_word_document():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ExtractionError, match="not a Word document"):
        extract(buffer.getvalue(), DOCX)


def test_docx_with_a_broken_main_part():
    source = zipfile.ZipFile(io.BytesIO(docx_bytes([CONTRACT])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in source.infolist():
            data = source.read(item)
            archive.writestr(item, b"<w:document><unclosed" if item.filename == "word/document.xml" else data)
    with pytest.raises(ExtractionError, match="DOCX file is damaged"):
        extract(buffer.getvalue(), DOCX)


def test_docx_zip_bomb_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr("documents.extraction.DOCX_MAX_UNPACKED", 10_000)
    data = docx_bytes([CONTRACT * 100])
    with pytest.raises(ExtractionError, match="unpacks to more than"):
        extract(data, DOCX)


def test_binary_data_claiming_to_be_text():
    with pytest.raises(ExtractionError, match="binary data"):
        extract(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PLAIN)


def test_unsupported_type():
    with pytest.raises(ExtractionError, match="cannot be read from files of type image/png"):
        extract(b"\x89PNG\r\n", "image/png")


def test_stream_is_only_read():
    data = pdf_bytes([CONTRACT])
    stream = io.BytesIO(data)
    extract_text(stream, content_type=PDF)
    assert stream.getvalue() == data


def test_clean_text_collapses_spaces_and_blank_runs():
    assert clean_text("a  \t b\n\n\n\n c\u00a0d  ") == "a b\n\nc d"


def _section_of(result, phrase: str):
    return result.location_at(result.text.index(phrase))


def test_pdf_pages_are_recorded_as_sections():
    result = extract_text(io.BytesIO(pdf_bytes(["Stools are beaded by hand.", "Baskets are woven from sisal."])))
    assert [section.page for section in result.sections] == [1, 2]
    assert _section_of(result, "Stools").page == 1
    assert _section_of(result, "sisal").page == 2
    assert result.sections[1].start == result.text.index("Baskets")


def test_docx_headings_name_the_sections_that_follow_them():
    document = docx.Document()
    document.add_paragraph("Supply agreement between Instantory and Kanju.")
    document.add_heading("Payment terms", level=1)
    document.add_paragraph("Invoices are payable within thirty days.")
    document.add_heading("Returns", level=2)
    document.add_paragraph("Damaged goods are replaced free of charge.")
    buffer = io.BytesIO()
    document.save(buffer)
    buffer.seek(0)

    result = extract_text(buffer, content_type=DOCX)

    assert _section_of(result, "Supply agreement").heading == ""
    assert _section_of(result, "thirty days").heading == "Payment terms"
    assert _section_of(result, "Payment terms").heading == "Payment terms"
    assert _section_of(result, "Damaged goods").heading == "Returns"
    assert all(section.page is None for section in result.sections)


def test_markdown_headings_outside_code_fences_name_sections():
    text = (
        "Intro line.\n\n## Sea *freight*\n\nContainers leave Mombasa weekly.\n\n```\n# not a heading\n```\n"
        "Still freight.\n\n# Staff leave #\n\nNew staff get twenty days."
    )
    result = extract_text(io.BytesIO(text.encode()), content_type=MARKDOWN)

    assert _section_of(result, "Intro").heading == ""
    assert _section_of(result, "Mombasa").heading == "Sea freight"
    assert _section_of(result, "Still freight").heading == "Sea freight"
    assert _section_of(result, "twenty days").heading == "Staff leave"
    assert "## Sea" not in result.text
    assert "Sea freight" in result.text


def test_plain_text_has_one_section_without_page_or_heading():
    result = extract_text(io.BytesIO(b"Just words."), content_type=PLAIN)
    assert result.location_at(5) == result.sections[0]
    assert (result.sections[0].page, result.sections[0].heading) == (None, "")
