"""Plain text out of a stored document: PDF (pypdf), DOCX (python-docx), plain text and Markdown.

Every way a file can fail to give text (empty, damaged, encrypted, not the type it claims, text
only in images) raises ExtractionError with a sentence meant for the document's owner; the
caller records it and leaves the file alone. Nothing here writes to the file.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

logger = logging.getLogger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PLAIN = "text/plain"
MARKDOWN = "text/markdown"
SUFFIX_KINDS = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".txt": PLAIN,
    ".text": PLAIN,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".mdown": MARKDOWN,
    ".mkd": MARKDOWN,
}
# Parse budgets (defaults; the worker passes settings.DOCUMENT_MAX_*), counted on what is actually
# produced, never on what the file declares. A DOCX is a zip archive whose declared sizes can lie and
# whose XML can hold millions of empty elements: its parts are inflated chunk by chunk, every byte
# counted, and its XML parsed as a stream, elements counted, in constant memory, before python-docx
# builds a tree of it. A PDF's page tree is walked node by node before any page is read.
DOCX_MAX_UNPACKED = 64 * 1024**2
DOCX_MAX_ELEMENTS = 300_000
PDF_MAX_PAGES = 2000
INFLATE_CHUNK = 256 * 1024
# Headings are stored with each chunk (document_vectors.heading); a longer one is cut.
HEADING_MAX_CHARS = 255

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class ExtractionError(Exception):
    """The file gives no usable text; the message says why, in words for the document's owner."""

    def __init__(self, message: str, *, page_count: int | None = None) -> None:
        super().__init__(message)
        self.page_count = page_count


@dataclass(frozen=True)
class Section:
    """Where a page (PDF) or a heading's section (DOCX, Markdown) begins in the extracted text."""

    start: int
    page: int | None = None
    heading: str = ""


@dataclass(frozen=True)
class ExtractedText:
    text: str
    page_count: int | None = None
    sections: tuple[Section, ...] = ()

    def location_at(self, offset: int) -> Section | None:
        """The section holding `offset` of the text (None for a text without sections)."""
        found = None
        for section in self.sections:  # few sections per document; in text order
            if section.start > offset:
                break
            found = section
        return found


@dataclass(frozen=True)
class _Part:
    """A stretch of raw text and where it sits: its page, or the heading it falls under."""

    text: str
    page: int | None = None
    heading: str = ""


def _assemble(parts: list[_Part], page_count: int | None = None) -> ExtractedText:
    """Parts cleaned one by one and joined by a blank line, each part's start recorded as a Section."""
    texts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for part in parts:
        text = clean_text(part.text)
        if not text:
            continue
        if texts:
            offset += 2  # the "\n\n" joining it to the previous part
        sections.append(Section(offset, part.page, part.heading))
        texts.append(text)
        offset += len(text)
    return ExtractedText("\n\n".join(texts), page_count, tuple(sections))


def extract_text(
    stream: BinaryIO,
    *,
    content_type: str = "",
    filename: str = "",
    max_chars: int | None = None,
    max_unpacked: int | None = None,
    max_elements: int | None = None,
    max_pages: int | None = None,
) -> ExtractedText:
    """The text of a seekable binary stream; the kind comes from the content type, else the name, else the bytes.

    `max_chars` bounds what a plain-text or Markdown file costs: only the bytes that can hold that many
    characters are read, so a huge text file never sits in memory whole; PDF pages stop being read
    once that many characters came out. `max_unpacked` (bytes) and `max_elements` bound a DOCX,
    `max_pages` a PDF (None: the module's defaults); past any of them the file is refused with
    ExtractionError, its work bounded by the budget rather than by the file.
    """
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise ExtractionError("The file is empty.")
    kind = _kind(head, content_type, filename)
    if kind == PDF:
        result = _pdf(stream, max_pages=max_pages or PDF_MAX_PAGES, max_chars=max_chars)
    elif kind == DOCX:
        result = _assemble(
            _docx(
                stream, max_unpacked=max_unpacked or DOCX_MAX_UNPACKED, max_elements=max_elements or DOCX_MAX_ELEMENTS
            )
        )
    elif kind in (PLAIN, MARKDOWN):
        # A character takes at most 4 bytes in UTF-8 and UTF-16 (plus a byte-order mark).
        limit = -1 if max_chars is None else max_chars * 4 + 4
        data = stream.read(limit)
        truncated = limit >= 0 and len(data) == limit and bool(stream.read(1))
        text = _decode(data, truncated=truncated)
        if max_chars is not None:
            text = text[:max_chars]
        result = _assemble(_markdown_parts(text) if kind == MARKDOWN else [_Part(text)])
    else:
        raise ExtractionError(f"Text cannot be read from files of type {content_type or 'unknown'}.")
    text = result.text  # each part was cleaned by _assemble, so the sections' offsets hold
    if not text:
        raise ExtractionError(
            "No text was found in the file"
            + (" (a scanned PDF has its text only as images, which is not read)." if kind == PDF else "."),
            page_count=result.page_count,
        )
    return result


def _kind(head: bytes, content_type: str, filename: str) -> str | None:
    content_type = content_type.split(";")[0].strip().lower()
    if content_type in (PDF, DOCX, PLAIN, MARKDOWN):
        return content_type
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix in SUFFIX_KINDS:
        return SUFFIX_KINDS[suffix]
    if head.startswith(b"%PDF"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return DOCX
    return PLAIN if content_type.startswith("text/") or not content_type else None


def _pdf(stream: BinaryIO, *, max_pages: int, max_chars: int | None) -> ExtractedText:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(stream)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("The PDF is protected by a password; upload a copy without the password.")
        page_count = _pdf_page_count(reader, max_pages)
        pages = []
        chars = 0
        for number, page in enumerate(reader.pages, start=1):
            pages.append(_Part(page.extract_text() or "", page=number))
            chars += len(pages[-1].text)
            if max_chars is not None and chars > max_chars:
                break  # the rest would not be indexed anyway
        return _assemble(pages, page_count=page_count)
    except ExtractionError:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise ExtractionError(
            "The PDF is encrypted in a way that cannot be opened; upload a copy without protection."
        ) from None
    except PdfReadError as exc:
        raise ExtractionError(f"The PDF is damaged or incomplete and cannot be read ({exc}).") from None
    except Exception as exc:
        # pypdf fails on malformed files with all kinds of exceptions (KeyError, ValueError, ...).
        logger.info("PDF parser failed: %r", exc)
        raise ExtractionError(f"The PDF is damaged and cannot be read ({type(exc).__name__}).") from None


def _pdf_page_count(reader, max_pages: int) -> int:
    """The pages of the page tree, walked with a budget: a tree whose nodes repeat (a page-tree bomb:
    a few objects referenced from many /Kids) or loop is refused before pypdf flattens it."""
    from pypdf.generic import ArrayObject, DictionaryObject

    root = reader.trailer["/Root"].get_object()["/Pages"].get_object()
    stack = [root]
    pages = nodes = 0
    while stack:
        node = stack.pop()
        nodes += 1
        if nodes > 4 * max_pages + 64:
            raise ExtractionError(f"The PDF's page tree is larger than {max_pages} pages allow; it is not read.")
        kids = node.get("/Kids") if isinstance(node, DictionaryObject) else None
        is_tree = isinstance(node, DictionaryObject) and (node.get("/Type") == "/Pages" or kids is not None)
        if is_tree:
            kids = kids.get_object() if kids is not None else []
            if isinstance(kids, ArrayObject):
                stack.extend(kid.get_object() for kid in kids)
        else:
            pages += 1
            if pages > max_pages:
                raise ExtractionError(f"The PDF has more than {max_pages} pages; it is not read.")
    return pages


class _Budget:
    """Bytes inflated and XML elements parsed so far, refused past their limits."""

    def __init__(self, max_unpacked: int, max_elements: int) -> None:
        self.max_unpacked = max_unpacked
        self.max_elements = max_elements
        self.unpacked = 0
        self.elements = 0

    def add_bytes(self, count: int) -> None:
        self.unpacked += count
        if self.unpacked > self.max_unpacked:
            raise ExtractionError(
                f"The DOCX file unpacks to more than {self.max_unpacked // 1024**2} MB; it is not read."
            )

    def add_element(self) -> None:
        self.elements += 1
        if self.elements > self.max_elements:
            raise ExtractionError(f"The DOCX file holds more than {self.max_elements} XML elements; it is not read.")


class _CountingReader:
    """A zip member read in small chunks (so zlib never inflates more than a chunk at once), counted."""

    def __init__(self, member, budget: _Budget) -> None:
        self.member = member
        self.budget = budget

    def read(self, size: int = -1) -> bytes:
        data = self.member.read(INFLATE_CHUNK if size is None or size < 0 else min(size, INFLATE_CHUNK))
        self.budget.add_bytes(len(data))
        return data


def _docx_within_budget(archive: zipfile.ZipFile, budget: _Budget) -> None:
    from lxml import etree

    for info in archive.infolist():
        if info.file_size > budget.max_unpacked:  # an honest size already says no
            budget.add_bytes(info.file_size)
        with archive.open(info) as member:
            reader = _CountingReader(member, budget)
            if info.filename.endswith((".xml", ".rels")):
                # A stream parse in constant memory: each element is dropped as soon as it is counted.
                for _event, element in etree.iterparse(
                    reader, events=("end",), resolve_entities=False, no_network=True, huge_tree=False
                ):
                    budget.add_element()
                    element.clear(keep_tail=True)
                    while element.getprevious() is not None:
                        del element.getparent()[0]
                while reader.read():  # whatever follows the root element counts too
                    pass
            else:
                while reader.read():
                    pass


def _docx(stream: BinaryIO, *, max_unpacked: int, max_elements: int) -> list[_Part]:
    import docx
    from docx.table import Table
    from lxml import etree

    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "word/document.xml" not in names:
                raise ExtractionError("The file is a zip archive but not a Word document (no word/document.xml).")
            _docx_within_budget(archive, _Budget(max_unpacked, max_elements))
    except ExtractionError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        # Also a member whose declared size lies: zipfile stops at the declared size and the CRC fails.
        raise ExtractionError("The DOCX file is damaged or incomplete (it is not a readable zip archive).") from None
    except etree.XMLSyntaxError as exc:
        raise ExtractionError(f"The DOCX file is damaged and cannot be read ({type(exc).__name__}).") from None
    stream.seek(0)
    try:
        document = docx.Document(stream)
        parts: list[_Part] = []
        lines: list[str] = []
        heading = ""
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_table_rows(block))
            elif _is_heading(block) and block.text.strip():
                # A heading starts a new section; its own text stays in the section it names.
                parts.append(_Part("\n".join(lines), heading=heading))
                heading, lines = " ".join(block.text.split())[:HEADING_MAX_CHARS], [block.text]
            else:
                lines.append(block.text)
        parts.append(_Part("\n".join(lines), heading=heading))
        return parts
    except Exception as exc:
        logger.info("DOCX parser failed: %r", exc)
        raise ExtractionError(f"The DOCX file is damaged and cannot be read ({type(exc).__name__}).") from None


def _is_heading(paragraph) -> bool:
    """Word's built-in heading styles ("Heading 1" … "Heading 9", "Title"), or their descendants."""
    style = paragraph.style
    while style is not None:
        name = (style.name or "").lower()
        if name.startswith("heading") or name == "title":
            return True
        style = style.base_style
    return False


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        rows.append(" | ".join(cells))
    return rows


def _decode(data: bytes, *, truncated: bool = False) -> str:
    """Decode text; a `truncated` prefix may end inside a character, which is then left out."""

    def decode(encoding: str) -> str:
        return codecs.getincrementaldecoder(encoding)().decode(data, final=not truncated)

    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return decode("utf-16")
        except UnicodeDecodeError:
            raise ExtractionError("The text file claims UTF-16 but is not valid UTF-16.") from None
    if b"\x00" in data:
        raise ExtractionError("The file holds binary data, not text.")
    try:
        return decode("utf-8-sig")
    except UnicodeDecodeError:
        # Most non-UTF-8 text files in the wild come from Windows editors.
        return data.decode("cp1252", errors="replace")


_MD_RULES = [
    (re.compile(r"^```.*$", re.M), ""),  # code fences (the code itself stays)
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: keep the alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: keep the label
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),  # heading marks
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),  # block quotes
    (re.compile(r"^\s*[-*+]\s+", re.M), ""),  # bullets
    (re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.M), ""),  # table separator rows
    (re.compile(r"(\*\*|__|~~|`)"), ""),  # emphasis and inline code marks
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+)(?<=\S)\*(?![\w*])"), r"\1"),  # *italic*
    (re.compile(r"<[^>\n]+>"), ""),  # inline HTML tags
]


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _markdown_parts(text: str) -> list[_Part]:
    """Markdown cut at its ATX headings (`# …`), outside code fences; each part's markup removed."""
    parts: list[_Part] = []
    lines: list[str] = []
    heading = ""
    fenced = False
    for line in text.split("\n"):
        if _MD_FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _MD_HEADING.match(line)
        if match and match.group(1):
            parts.append(_Part(markdown_to_text("\n".join(lines)), heading=heading))
            heading = " ".join(markdown_to_text(match.group(1)).split())[:HEADING_MAX_CHARS]
            lines = []
        lines.append(line)
    parts.append(_Part(markdown_to_text("\n".join(lines)), heading=heading))
    return parts


def markdown_to_text(text: str) -> str:
    """Markdown with its markup removed, so the embedder sees words, not syntax."""
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return text


def clean_text(text: str) -> str:
    """NFC text without control characters (PostgreSQL refuses NUL), runs of spaces or blank-line runs."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
