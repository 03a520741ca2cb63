"""Streaming in and out of Vercel Blob in constant memory.

Uploads read the file being saved through `UploadSource` (positional reads, so several parts can be
sent at once from one file and any part can be re-sent after a failure); a source that cannot seek
or does not know its size is first spooled to a temporary file on disk. Downloads are a `BlobReader`
over one streamed GET that resumes with a `Range` request after a cut connection or a seek.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator

import requests
import urllib3.exceptions
from django.core.files.base import File

from storage_app.backends.streams import seek_target
from storage_app.backends.vercel_blob.errors import error_from_exception
from storage_app.exceptions import (
    StorageConnectionError,
    StoragePreconditionFailed,
    StorageRejected,
    StorageServiceError,
    StorageUnavailable,
)

SPOOL_CHUNK = 1024 * 1024
READ_BUFFER = 256 * 1024


class UploadSource:
    """Random access to the bytes of the file being saved, safe to use from several threads."""

    def __init__(self, fileobj) -> None:
        self._file = fileobj
        self._fd: int | None = None
        self._lock = threading.Lock()
        with contextlib.suppress(AttributeError, OSError, io.UnsupportedOperation, ValueError):
            fd = fileobj.fileno()
            if stat.S_ISREG(os.fstat(fd).st_mode):
                self._fd = fd

    def read_at(self, offset: int, size: int) -> bytes:
        if self._fd is not None:
            return os.pread(self._fd, size, offset)
        with self._lock:
            self._file.seek(offset)
            return self._file.read(size)


@contextlib.contextmanager
def open_upload_source(content) -> Iterator[tuple[UploadSource, int]]:
    """(source, size) for a Django File or file-like object, spooled to disk when it must be."""
    size = _known_size(content)
    seekable = _seekable(content)
    if seekable:
        content.seek(0)
    sample = content.read(0)
    if size is not None and seekable and isinstance(sample, bytes):
        yield UploadSource(content.file if isinstance(content, File) else content), size
        return
    # Text, a pipe, or an unknown length: copy to disk once so the body has a length and can be re-sent.
    with tempfile.TemporaryFile() as spool:
        size = 0
        while True:
            chunk = content.read(SPOOL_CHUNK)
            if not chunk:
                break
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            spool.write(chunk)
            size += len(chunk)
        spool.flush()
        yield UploadSource(spool), size


def _known_size(content) -> int | None:
    try:
        size = content.size
    except (AttributeError, OSError, TypeError, ValueError, io.UnsupportedOperation):
        return None
    return size if isinstance(size, int) and size >= 0 else None


def _seekable(content) -> bool:
    try:
        return bool(content.seekable())
    except (AttributeError, OSError, ValueError):
        return False


class RangeReader:
    """A request body: `length` bytes of a source from `start`, re-readable from the beginning.

    requests sends an object with `read` and `__len__` with a Content-Length and reads it block by
    block; it has no `__iter__` on purpose, so it is not sent chunked.
    """

    def __init__(self, source: UploadSource, start: int, length: int) -> None:
        self._source = source
        self._start = start
        self._length = length
        self._position = 0

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        remaining = self._length - self._position
        if remaining <= 0:
            return b""
        size = remaining if size is None or size < 0 else min(size, remaining)
        data = self._source.read_at(self._start + self._position, size)
        if not data:
            # Not worth a retry: the file itself is shorter than it said.
            raise StorageRejected("the file being saved ended before its declared size (it changed while uploading)")
        self._position += len(data)
        return data

    def rewind(self) -> None:
        self._position = 0


class BlobReader(io.RawIOBase):
    """The content of one blob, read from a streamed GET; seeks and dropped connections reopen with Range."""

    mode = "rb"

    def __init__(
        self,
        *,
        name: str,
        size: int,
        etag: str | None,
        response: requests.Response,
        open_at: Callable[[int], requests.Response],
        retries: int,
        alias: str,
    ) -> None:
        super().__init__()
        self.name = name
        self.alias = alias  # the storage's STORAGES alias: the `backend` of the errors raised here
        self._size = size
        self._etag = etag
        self._response: requests.Response | None = response
        self._response_position = 0
        self._position = 0
        self._open_at = open_at
        self._retries = retries
        self._failures = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = seek_target(offset, whence, position=self._position, size=self._size)
        self._position = target
        return target

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        return self._transfer(len(buffer), lambda response, wanted: response.raw.readinto(view[:wanted]))

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes as urllib3 returns them: no buffer to fill and copy out of, as readinto has."""
        if size is None or size < 0:
            return self.readall()
        data = b""

        def read(response: requests.Response, wanted: int) -> int:
            nonlocal data
            data = response.raw.read(wanted)
            return len(data)

        self._transfer(size, read)
        return data

    def _transfer(self, size: int, read: Callable[[requests.Response, int], int]) -> int:
        """One read of up to `size` bytes at the position; a dropped connection reopens from there."""
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        wanted = min(size, self._size - self._position)
        if wanted <= 0:
            return 0
        while True:
            try:
                if self._response is None or self._response_position != self._position:
                    self._reopen()
                count = read(self._response, wanted)
                if count == 0:
                    raise StorageConnectionError(
                        f"Vercel Blob read {self.name!r}: the connection closed at byte "
                        f"{self._position} of {self._size}",
                        backend=self.alias,
                    )
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, StorageUnavailable) as exc:
                error = error_from_exception(exc, operation="read", pathname=self.name, backend=self.alias)
                self._drop()
                # One budget for the whole file: a connection that keeps dropping is not read forever.
                self._failures += 1
                if not isinstance(error, StorageUnavailable) or self._failures > self._retries:
                    raise error from exc
                continue
            self._position += count
            self._response_position = self._position
            return count

    def _reopen(self) -> None:
        self._drop()
        response = self._open_at(self._position)
        if self._position and response.status_code != 206:
            response.close()
            raise StorageServiceError(
                f"Vercel Blob read {self.name!r}: the range request was not honoured", backend=self.alias
            )
        etag = response.headers.get("ETag")
        if self._etag and etag and etag != self._etag:
            response.close()
            raise StoragePreconditionFailed(
                f"Vercel Blob read {self.name!r}: the blob was replaced while it was being read", backend=self.alias
            )
        self._response = response
        self._response_position = self._position

    def _drop(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def close(self) -> None:
        self._drop()
        super().close()


class VercelBlobFile(File):
    """What `VercelBlobStorage.open()` returns: a read-only, buffered, seekable stream of one blob."""

    def __init__(self, reader: BlobReader, *, name: str, size: int, content_type: str | None, etag: str | None):
        super().__init__(io.BufferedReader(reader, buffer_size=READ_BUFFER), name)
        self._reader = reader
        self._size = size
        self.content_type = content_type
        self.etag = etag
        self.mode = "rb"

    def open(self, mode: str | None = None):
        if mode not in (None, "rb", "r"):
            raise ValueError("a Vercel Blob file is read-only; save new content with storage.save()")
        if self.closed:
            raise ValueError("this Vercel Blob file is closed; open it again from the storage")
        self.seek(0)
        return self

    def read(self, size: int | None = -1) -> bytes:
        buffered = self.file
        if size is not None and size >= READ_BUFFER and buffered.tell() == self._reader.tell():
            # Nothing is buffered: a big read goes straight to the connection, saving a copy of
            # every byte through the buffer (stored_file_response reads blocks of this size).
            data = self._reader.read(size)
            if 0 < len(data) < size:  # a connection cut mid-read: fill up as BufferedReader would
                parts, got = [data], len(data)
                while got < size and (more := self._reader.read(size - got)):
                    parts.append(more)
                    got += len(more)
                data = b"".join(parts)
            buffered.seek(self._reader.tell())  # the buffer forgets what it held before
            return data
        return buffered.read(size)

    def write(self, *args, **kwargs):
        raise io.UnsupportedOperation("a Vercel Blob file is read-only; save new content with storage.save()")
