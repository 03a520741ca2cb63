"""What an upload must be before it is accepted: its name, its size and its type.

The type is decided from the content's first bytes (magic numbers), never from the client's
Content-Type header or the file's extension; the extension only tells Markdown from plain text
once the content is known to be text.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
DOCUMENT_TYPES = {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/plain",
    "text/markdown",
}
ALLOWED_TYPES = {"image": IMAGE_TYPES, "document": DOCUMENT_TYPES}
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/plain": ".txt",
    "text/markdown": ".md",
}
MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
MAX_FILENAME_LENGTH = 120
SNIFF_BYTES = 64 * 1024
# Control characters other than tab, newline, carriage return and form feed mark binary content.
_BINARY_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_UNSAFE_NAME_CHARS = re.compile(r"[^\w\s.()\-\u2010-\u2015+,&@'=]", re.UNICODE)


class UploadRejected(ValidationError):
    """An upload refused before anything was stored; `code` says why, the message says it to a person."""


@dataclass(frozen=True)
class SniffedType:
    content_type: str
    extension: str


def clean_filename(raw: str) -> str:
    """A safe display and storage name from whatever the client sent.

    Path components are dropped (`../../etc/passwd` becomes `passwd`), control characters and
    characters that mean something to a shell or a URL are removed, Unicode is normalised to NFC
    and the result is cut to MAX_FILENAME_LENGTH characters keeping the extension. A NUL byte or any
    other control character is refused outright: no honest client sends one.
    """
    if not isinstance(raw, str):
        raise UploadRejected("The file name must be text.", code="invalid_filename")
    if "\x00" in raw:
        raise UploadRejected("The file name contains a NUL byte.", code="invalid_filename")
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        raise UploadRejected("The file name contains a control character.", code="invalid_filename")
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_NAME_CHARS.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if not name or set(name) <= {"_", "."}:
        name = "file"
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 10:
            name = stem[: MAX_FILENAME_LENGTH - len(suffix) - 1].rstrip(" .") + "." + suffix
        else:
            name = name[:MAX_FILENAME_LENGTH].rstrip(" .")
    return name


def check_size(size: int, max_size: int) -> None:
    if size <= 0:
        raise UploadRejected("The file is empty.", code="empty_file")
    if size > max_size:
        raise UploadRejected(
            f"The file is {size} bytes; the largest accepted upload is {max_size} bytes.", code="file_too_large"
        )


def sniff_type(path: Path, *, kind: str, filename: str) -> SniffedType:
    """The content type of the file at `path`, if it is one `kind` accepts; UploadRejected otherwise."""
    allowed = ALLOWED_TYPES.get(kind)
    if allowed is None:
        raise UploadRejected(f"Unknown upload kind {kind!r}; use image or document.", code="invalid_kind")
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    content_type = _binary_type(head, path) or _text_type(head, filename)
    if content_type is None or content_type not in allowed:
        found = content_type or "an unrecognised format"
        accepted = ", ".join(sorted(EXTENSIONS[t].lstrip(".").upper() for t in allowed))
        raise UploadRejected(
            f"The content is {found}, which is not an accepted {kind}; accepted: {accepted}.",
            code="unsupported_type",
        )
    if content_type in IMAGE_TYPES:
        _check_image(path)
    return SniffedType(content_type=content_type, extension=EXTENSIONS[content_type])


def _binary_type(head: bytes, path: Path) -> str | None:
    guessed = filetype.guess_mime(head)
    if (
        guessed == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        or guessed == "application/zip"
    ):
        return _docx_or_none(path)
    return guessed


def _docx_or_none(path: Path) -> str | None:
    # A ZIP header alone is not a Word document: the package must hold the main document part.
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    if "word/document.xml" in names and "[Content_Types].xml" in names:
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return "application/zip"


def _text_type(head: bytes, filename: str) -> str | None:
    if _BINARY_CONTROL.search(head):
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still text.
        if exc.start < len(head) - 3:
            return None
    return "text/markdown" if Path(filename).suffix.lower() in MARKDOWN_SUFFIXES else "text/plain"


# What browsers look for when they sniff a file as HTML: an image that carries it is a polyglot
# meant to run script somewhere, refused even though its pixels decode.
_HTML_MARKERS = re.compile(rb"<(?:script|html|!doctype\s+html|iframe|svg|body|head)[\s>/]", re.IGNORECASE)


def _check_image(path: Path) -> None:
    """The image's pixel count from its header, before any decode; then its first frame decoded in full.

    `verify()` alone checks nothing of a JPEG (a truncated one, or JPEG markers followed by HTML,
    passed); decoding the first frame is what proves Pillow can read it, at a cost bounded by
    IMAGE_MAX_PIXELS. Other frames of an animation are not decoded (the thumbnail uses the first).
    """
    max_pixels = settings.IMAGE_MAX_PIXELS
    with path.open("rb") as handle:
        if _HTML_MARKERS.search(handle.read(SNIFF_BYTES)):
            raise UploadRejected("The image also holds HTML (a polyglot file); it is refused.", code="corrupt_image")
    try:
        with warnings.catch_warnings():
            # Pillow's own guard warns past 89 Mpx; the budget below is what decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # reads the header only
                width, height = image.size
                if width * height > max_pixels:
                    raise UploadRejected(
                        f"The image is {width}x{height} pixels; the largest accepted is {max_pixels} pixels.",
                        code="image_too_large",
                    )
                image.load()  # the first frame, in full: truncated or damaged data fails here
    except UploadRejected:
        raise
    except Image.DecompressionBombError:  # Pillow's limit, past 179 Mpx, met while reading the header
        raise UploadRejected(
            f"The image has more pixels than the largest accepted ({max_pixels} pixels).", code="image_too_large"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadRejected(f"The image cannot be read: {exc}.", code="corrupt_image") from None
