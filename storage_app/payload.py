"""What FallbackStorage sends to a backend: the content, seekable, hashed once as the backend reads it."""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import threading
from typing import Any

from django.core.files import File

HASH_CHUNK = 1024 * 1024
SPOOL_MAX_MEMORY = 2 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Payload:
    """The content of one save: seekable (spooled if it was not), hashed as the backend reads it.

    The SHA-256 the record keeps (for reconcile to verify copies) is taken from the bytes the backend
    reads, so a save that sends its content in order reads it once; a backend that reads out of order
    (parallel multipart parts) hands the hashing to a thread that reads the content alongside it. A
    failed attempt starts again from the first byte on the next backend.

    A caller that already hashed the bytes it sends (the upload pipeline hashes a file once, as it
    writes the temporary area) says so with `content.sha256` (hex): the content is then sent as it
    is and not hashed again. The caller vouches for it; reconcile verifies every copy it makes.
    """

    def __init__(self, content: Any) -> None:
        self._spool: tempfile.SpooledTemporaryFile | None = None
        source = content
        if not _seekable(content) or _is_text(content):
            # Text is stored as UTF-8 bytes, so positions and sizes count bytes, not characters.
            # Closed by close(), once every backend attempt is over.
            self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115
            for chunk in content.chunks():
                self._spool.write(chunk.encode() if isinstance(chunk, str) else chunk)
            source = File(self._spool, name=getattr(content, "name", None))
        self._source = source
        known = getattr(content, "sha256", None)
        self._known = known if self._spool is None and isinstance(known, str) and _SHA256.match(known) else None
        self._hashing = HashingReader(source)
        self.file = File(source if self._known else self._hashing, name=getattr(content, "name", None))
        for attribute in ("content_type", "charset", "content_type_extra"):
            if getattr(content, attribute, None) is not None:
                setattr(self.file, attribute, getattr(content, attribute))
        self.rewind()

    def rewind(self) -> None:
        self.file.seek(0)

    @property
    def size(self) -> int:
        return self._hashing.total_size()

    @property
    def checksum(self) -> str:
        return self._known or self._hashing.hexdigest()

    def close(self) -> None:
        self._hashing.stop()  # before the spool goes: the hashing thread may still be reading it
        if self._spool is not None:
            self._spool.close()


class HashingReader:
    """A seekable stream that hashes its content as it is read.

    Reads in order (and re-reads of a retry) extend the digest on the reading thread. The first read
    that skips ahead leaves a gap no later in-order read can fill, so from then on a thread of its own
    reads the rest of the content and hashes it while the backend goes on sending: the hashing costs
    no time on the save's path (hashlib and reads release the interpreter lock). The content does not
    change during a save.
    """

    def __init__(self, source: Any) -> None:
        self._source = source
        self._lock = threading.Lock()  # one position: every seek+read of the source happens under it
        self._digest = hashlib.sha256()
        self._hashed = 0  # bytes [0, _hashed) are in the digest
        self._handed_off = False  # once True, only _hash_the_rest touches the digest
        self._catch_up: threading.Thread | None = None
        self._stopping = threading.Event()
        self._error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        with self._lock:
            start = self._source.tell()
            data = self._source.read(size)
            if isinstance(data, str):
                data = data.encode()
            if not self._handed_off:
                if start <= self._hashed < start + len(data):
                    self._digest.update(memoryview(data)[self._hashed - start :])
                    self._hashed = start + len(data)
                elif start > self._hashed:
                    self._start_catch_up()
            return data

    def _start_catch_up(self) -> None:
        """From now on the thread owns the digest; readers only read (called under the lock)."""
        self._handed_off = True
        self._catch_up = threading.Thread(target=self._hash_the_rest, name="storage-save-sha256", daemon=True)
        self._catch_up.start()

    def _hash_the_rest(self) -> None:
        try:
            while not self._stopping.is_set():
                chunk = self._read_at(self._hashed, HASH_CHUNK)
                if not chunk:
                    return
                self._digest.update(chunk)
                self._hashed += len(chunk)
        except BaseException as exc:  # re-raised by hexdigest() on the save's thread
            self._error = exc

    def _read_at(self, offset: int, size: int) -> bytes:
        with self._lock:
            position = self._source.tell()
            self._source.seek(offset)
            data = self._source.read(size)
            self._source.seek(position)
        return data.encode() if isinstance(data, str) else data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with self._lock:
            self._source.seek(offset, whence)
            return self._source.tell()

    def tell(self) -> int:
        return self._source.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Closing is the save's business (_Payload.close), not the backend's."""

    @property
    def closed(self) -> bool:
        return False

    def total_size(self) -> int:
        with self._lock:
            position = self._source.tell()
            self._source.seek(0, io.SEEK_END)
            size = self._source.tell()
            self._source.seek(position)
            return size

    def hexdigest(self) -> str:
        """The SHA-256 of the whole content; whatever no read covered is read here."""
        with self._lock:
            handed_off, self._handed_off = self._handed_off, True
        if not handed_off:
            self._hash_the_rest()  # only what the backend did not read
        elif self._catch_up is not None:
            self._catch_up.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()

    def stop(self) -> None:
        self._stopping.set()
        if self._catch_up is not None:
            self._catch_up.join()


def _is_text(content: Any) -> bool:
    return isinstance(getattr(content, "file", content), io.TextIOBase)


def _seekable(content: Any) -> bool:
    seekable = getattr(content, "seekable", None)
    if callable(seekable):
        try:
            return bool(seekable())
        except (ValueError, io.UnsupportedOperation):
            return False
    try:
        content.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False
    return True
