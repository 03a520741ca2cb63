"""Real document files made by the tests: text PDFs (fpdf2), DOCX (python-docx), encrypted and damaged ones."""

from __future__ import annotations

import io

import docx
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from documents.models import Document


def pdf_bytes(pages: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def image_only_pdf_bytes() -> bytes:
    """A page with a drawing and no text: what a scan looks like to a text extractor."""
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def encrypted_pdf_bytes(text: str, *, user_password: str, algorithm: str = "AES-256") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes([text]))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def stored_document(owner, name: str, data: bytes, content_type: str, title: str | None = None, **fields) -> Document:
    """A document whose file is already in the default storage, as the upload pipeline leaves it."""
    document = Document.objects.create(
        owner=owner, title=title or name, content_type=content_type, size=len(data), **fields
    )
    document.file.name = default_storage.save(f"documents/{owner.pk}/{document.pk}/{name}", ContentFile(data))
    document.save(update_fields=["file"])
    return document
