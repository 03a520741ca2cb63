"""The temporary area: where an upload's bytes wait, on local disk, until they are safe in permanent storage."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from uploads.validation import UploadRejected, check_size

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class TemporaryFile:
    name: str  # relative to the temporary root; holds nothing the client chose
    size: int
    checksum: str

    @property
    def path(self) -> Path:
        return temporary_path(self.name)


class TemporaryAreaFile(UploadedFile):
    """An uploaded file already in the temporary area, with its size and SHA-256 (uploads.upload_handler).

    `take()` hands it over to the pipeline (the tracking row now refers to it); until then,
    closing it removes it.
    """

    def __init__(self, handle, *, name: str, temporary_name: str, size: int, sha256: str, content_type, charset):
        super().__init__(handle, name=name, content_type=content_type, size=size, charset=charset)
        self.temporary_name = temporary_name
        self.sha256 = sha256
        self._taken = False

    @property
    def temporary_path(self) -> Path:
        return temporary_path(self.temporary_name)

    def take(self) -> None:
        self._taken = True

    def close(self) -> None:
        try:
            super().close()
        finally:
            if not self._taken:
                self.temporary_path.unlink(missing_ok=True)


def temporary_root() -> Path:
    root = Path(settings.TEMP_UPLOAD_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def temporary_path(name: str) -> Path:
    return temporary_root() / name


def write_temporary(chunks: Iterable[bytes], *, max_size: int) -> TemporaryFile:
    """Stream `chunks` to a new temporary file, hashing as it goes; refuse empty or oversized content.

    The size limit is enforced on the bytes actually received, whatever the client announced. The
    file is fsynced before returning, because the tracking row that points at it is about to be
    committed and must never outlive its bytes.
    """
    name = uuid.uuid4().hex
    path = temporary_path(name)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise UploadRejected(
                        f"The file is larger than the largest accepted upload ({max_size} bytes).",
                        code="file_too_large",
                    )
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        check_size(size, max_size)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return TemporaryFile(name=name, size=size, checksum=digest.hexdigest())


def temporary_from(file, *, max_size: int) -> TemporaryFile:
    """The file in the temporary area: taken over as it is when the request already streamed it there.

    Anything else (a file of a form, bytes of storage_manager, a file on disk) is copied in once.
    """
    if isinstance(file, TemporaryAreaFile) and file.temporary_path.exists():
        check_size(file.size, max_size)
        file.take()
        return TemporaryFile(name=file.temporary_name, size=file.size, checksum=file.sha256)
    return write_temporary(file_chunks(file), max_size=max_size)


def file_chunks(file, chunk_size: int = CHUNK_SIZE) -> Iterable[bytes]:
    """Chunks of a Django File/UploadedFile or any binary file object, from its start."""
    if hasattr(file, "chunks"):
        yield from file.chunks(chunk_size)
        return
    if hasattr(file, "seek"):
        file.seek(0)
    while chunk := file.read(chunk_size):
        yield chunk
