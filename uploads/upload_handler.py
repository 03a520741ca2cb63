"""Request bodies streamed straight into the temporary area: one pass, hashed as they arrive, bounded.

Django's default handlers keep small files in memory and spool big ones to /tmp, and the pipeline
then copied them again into the temporary area, hashing on the way. This handler writes each file
part of a multipart body once, into the temporary area itself, hashing it as it arrives and fsyncing
it once at the end; `upload_create` takes the file over as it is (uploads.services.temporary).

Limits are checked before and while reading, never after:
- a body whose Content-Length is over what one upload may be (UPLOAD_MAX_SIZE plus room for the
  form's other fields) is refused before a byte of it is read;
- a file part is refused as soon as more than UPLOAD_MAX_SIZE bytes of it have arrived, also when
  the body is chunked or its Content-Length lies;
both with UploadRejected(code="file_too_large") (413), and the partial file removed at once.

Names are checked on the raw part headers, before Django's parser sees them, because Django drops
what it cannot use without a word: a part whose headers are not UTF-8 loses its Content-Disposition
and the part; a file named `.` or `..` (or one that is only a path) is skipped; NUL and other control
characters are stripped. Each is UploadRejected(code="invalid_filename") (400) here, never a request
that succeeds without its file. An empty name (a form's empty file input) stays what it is: no file.

A file nobody takes over is removed when the request closes its files (Django closes every
uploaded file at the end of the request), so a refused or failed request leaves nothing on disk;
a process killed mid-request leaves a file the sweep removes after its grace period.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
import uuid
import weakref
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.utils.http import parse_header_parameters

from uploads.services.temporary import TemporaryAreaFile, temporary_path
from uploads.validation import UploadRejected

# Room for the form's other fields and the multipart framing on top of the file itself.
FORM_OVERHEAD = 1024 * 1024
CHUNK_SIZE = 1024 * 1024


def too_large(max_size: int) -> UploadRejected:
    return UploadRejected(
        f"The file is larger than the largest accepted upload ({max_size} bytes).", code="file_too_large"
    )


class TemporaryAreaUploadHandler(FileUploadHandler):
    chunk_size = CHUNK_SIZE

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.max_size = settings.UPLOAD_MAX_SIZE
        self._handle = None
        self._name = ""
        self._digest = None
        self._size = 0
        self._cleanup = None
        self._parsing = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_size + FORM_OVERHEAD:
            raise too_large(self.max_size)
        if self._parsing or not boundary:
            return None  # the parser below goes on, handing each file part to this handler
        # The same parser, reading through a check of every part's headers as they stream by.
        self._parsing = True
        handlers = getattr(self.request, "upload_handlers", None) or [self]
        return MultiPartParser(META, PartHeaderCheck(input_data, boundary), handlers, encoding).parse()

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self._name = uuid.uuid4().hex
        path = temporary_path(self._name)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._handle = os.fdopen(fd, "w+b")
        # A body the parser gives up on mid-file (a cut connection, bad framing) calls nothing here:
        # the half-written file goes when this handler does, with the request.
        self._cleanup = weakref.finalize(self, _remove, self._handle, path)
        self._digest = hashlib.sha256()
        self._size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._size += len(raw_data)
        if self._size > self.max_size:
            self._discard()
            raise too_large(self.max_size)
        self._digest.update(raw_data)
        self._handle.write(raw_data)
        return None  # consumed: no later handler sees it

    def file_complete(self, file_size: int) -> TemporaryAreaFile:
        self._handle.flush()
        os.fsync(self._handle.fileno())  # the tracking row about to be committed must not outlive its bytes
        self._handle.seek(0)
        file = TemporaryAreaFile(
            self._handle,
            name=self.file_name,
            temporary_name=self._name,
            size=self._size,
            sha256=self._digest.hexdigest(),
            content_type=self.content_type,
            charset=self.charset,
        )
        self._handle = None
        self._cleanup.detach()
        return file

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        if self._cleanup is not None:
            self._cleanup()  # runs once: closes and removes the half-written file
        self._handle = None


def invalid_name(message: str) -> UploadRejected:
    return UploadRejected(message, code="invalid_filename")


class PartHeaderCheck:
    """A multipart body read through unchanged, each part's header block checked as it passes.

    Only a window around the latest boundary is kept, so a body of any size costs a few KB here.
    """

    MAX_HEADER_BLOCK = 64 * 1024

    def __init__(self, stream, boundary: bytes) -> None:
        self.stream = stream
        self.delimiter = b"--" + boundary
        self.tail = b""

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self._scan(data)
        return data

    def _scan(self, data: bytes) -> None:
        buffer = self.tail + data
        position = 0
        while True:
            start = buffer.find(self.delimiter, position)
            if start < 0:
                break
            after = start + len(self.delimiter)
            if len(buffer) - after < 2:
                self.tail = buffer[start:]
                return
            if buffer[after : after + 2] == b"--":  # the closing delimiter: no headers follow
                position = after + 2
                continue
            end = buffer.find(b"\r\n\r\n", after)
            if end < 0:
                if len(buffer) - after > self.MAX_HEADER_BLOCK:
                    raise invalid_name("A part's headers are too long.")
                self.tail = buffer[start:]
                return
            check_part_headers(buffer[after:end])
            position = end + 4
        # Keep what could be the start of a delimiter cut by the chunk's end.
        self.tail = buffer[max(position, len(buffer) - len(self.delimiter) - 4) :]


def check_part_headers(block: bytes) -> None:
    for raw_line in block.split(b"\r\n"):
        if not raw_line.strip():
            continue
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid_name("A part's headers (its file name?) are not valid UTF-8.") from None
        name, _, value = line.partition(":")
        if name.strip().lower() != "content-disposition":
            continue
        _, params = parse_header_parameters(value)
        filename = params.get("filename")
        if not filename:
            continue  # a field, or an empty file input: no file either way
        if any(unicodedata.category(ch) == "Cc" for ch in filename):
            raise invalid_name("The file name contains a NUL byte or another control character.")
        if "\ufffd" in filename:
            raise invalid_name("The file name is not valid UTF-8.")
        if MultiPartParser.sanitize_file_name(None, filename) is None:
            raise invalid_name(f"The file name {filename!r} names no file (it is empty, '.', '..' or only a path).")


def _remove(handle, path: Path) -> None:
    handle.close()
    path.unlink(missing_ok=True)
