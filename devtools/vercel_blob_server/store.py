"""The blobs of the local Vercel Blob server, kept in a directory on disk.

Every blob is two files in `<root>/blobs/`: `<id>.bin` (the content) and `<id>.json` (pathname,
size, ETag, upload time, content type, cache max-age). A new id is used for every write, so a
replaced blob's old content stays readable by whoever has it open, and the index is rebuilt from
the JSON files when a server starts on an existing directory.

Bodies are never held in memory: they arrive through `receive()` in chunks, are hashed while being
written to `<root>/incoming/`, and are moved into place under the index lock only once complete, so
the overwrite and ETag rules are checked against the state at the moment of the commit.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import mimetypes
import os
import secrets
import shutil
import string
import tempfile
import threading
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

DEFAULT_CACHE_MAX_AGE = 30 * 24 * 3600  # one month, the service's default
MIN_CACHE_MAX_AGE = 60
MAX_PATHNAME_LENGTH = 950  # UTF-16 code units, as the SDKs count them
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10_000
RANDOM_SUFFIX_LENGTH = 30
_SUFFIX_ALPHABET = string.ascii_letters + string.digits
COPY_BUFFER = 1024 * 1024

ALREADY_EXISTS_MESSAGE = (
    "This blob already exists, use `allowOverwrite: true` if you want to overwrite it. "
    "Or `addRandomSuffix: true` to generate a unique filename."
)


class BlobApiError(Exception):
    """An error reply of the API: HTTP status plus the `{"error": {"code", "message"}}` body."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> BlobApiError:
    return BlobApiError(400, "bad_request", message)


def not_found() -> BlobApiError:
    return BlobApiError(404, "not_found", "The requested blob does not exist")


def precondition_failed() -> BlobApiError:
    return BlobApiError(412, "precondition_failed", "Precondition failed: ETag mismatch.")


@dataclass(frozen=True)
class BlobRecord:
    pathname: str
    size: int
    etag: str  # quoted, RFC 7232 form
    uploaded_at: str  # ISO 8601 with milliseconds and Z, as the service sends it
    content_type: str
    cache_max_age: int
    file_id: str

    @property
    def uploaded_datetime(self) -> datetime:
        return datetime.fromisoformat(self.uploaded_at.replace("Z", "+00:00"))


@dataclass(frozen=True)
class WriteOptions:
    """What the option headers of a put, copy or multipart create asked for."""

    content_type: str | None = None
    add_random_suffix: bool = False
    allow_overwrite: bool = False
    cache_max_age: int | None = None
    if_match: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A complete body written to disk, not yet visible as a blob."""

    path: Path
    size: int
    md5: str


@dataclass
class _Upload:
    upload_id: str
    key: str  # the final pathname, random suffix included
    options: WriteOptions
    directory: Path
    parts: dict[int, tuple[str, int]]  # part number -> (etag, size)


def check_pathname(pathname: str) -> str:
    if not pathname:
        raise bad_request("A pathname is required.")
    if "//" in pathname:
        raise bad_request('pathname cannot contain "//", please encode it if needed')
    if len(pathname.encode("utf-16-le")) // 2 > MAX_PATHNAME_LENGTH:
        raise bad_request(f"pathname is too long, maximum length is {MAX_PATHNAME_LENGTH}")
    if any(ord(char) < 32 or ord(char) == 127 for char in pathname):
        raise bad_request("pathname cannot contain control characters")
    return pathname


def with_random_suffix(pathname: str) -> str:
    """`dir/name-<30 alphanumerics>.ext`: the suffix goes before the last extension of the last segment."""
    directory, _, filename = pathname.rpartition("/")
    stem, dot, ext = filename.rpartition(".")
    if not dot or not stem:
        stem, ext = filename, ""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(RANDOM_SUFFIX_LENGTH))
    new_name = f"{stem}-{suffix}" + (f".{ext}" if ext else "")
    return f"{directory}/{new_name}" if directory else new_name


def content_disposition(pathname: str, *, attachment: bool = True) -> str:
    """`attachment; filename="x"`, with an RFC 5987 `filename*` when the name is not plain ASCII."""
    filename = pathname.rstrip("/").rpartition("/")[2] or "blob"
    kind = "attachment" if attachment else "inline"
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("\\", "_")
    if ascii_name == filename:
        return f'{kind}; filename="{filename}"'
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def guess_content_type(pathname: str) -> str:
    guessed, _ = mimetypes.guess_type(pathname, strict=False)
    return guessed or "application/octet-stream"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        key = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        key = ""
    if not key:
        raise bad_request("Invalid cursor.")
    return key


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BlobStore:
    """Blobs of one store, thread-safe. Pathnames are kept sorted for listing."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blobs_dir = self.root / "blobs"
        self._incoming_dir = self.root / "incoming"
        self._uploads_dir = self.root / "uploads"
        for directory in (self._blobs_dir, self._incoming_dir, self._uploads_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._index: dict[str, BlobRecord] = {}
        self._sorted: list[str] = []
        self._uploads: dict[str, _Upload] = {}
        self._load()

    # --- index ------------------------------------------------------------------------------

    def _load(self) -> None:
        for meta in self._blobs_dir.glob("*.json"):
            try:
                record = BlobRecord(**json.loads(meta.read_text()))
            except (ValueError, TypeError):
                continue
            if not (self._blobs_dir / f"{record.file_id}.bin").exists():
                continue
            current = self._index.get(record.pathname)
            if current is None or current.uploaded_at < record.uploaded_at:
                self._index[record.pathname] = record
        self._sorted = sorted(self._index)

    def _content_path(self, record: BlobRecord) -> Path:
        return self._blobs_dir / f"{record.file_id}.bin"

    def get(self, pathname: str) -> BlobRecord | None:
        with self._lock:
            return self._index.get(pathname)

    def open_content(self, record: BlobRecord):
        """The content file of `record`; still readable if the blob is replaced meanwhile."""
        return self._content_path(record).open("rb")

    def count(self) -> int:
        with self._lock:
            return len(self._index)

    def clear(self) -> None:
        with self._lock:
            for record in self._index.values():
                self._remove_files(record)
            self._index.clear()
            self._sorted.clear()
            for upload in self._uploads.values():
                shutil.rmtree(upload.directory, ignore_errors=True)
            self._uploads.clear()

    def _remove_files(self, record: BlobRecord) -> None:
        for suffix in (".bin", ".json"):
            (self._blobs_dir / f"{record.file_id}{suffix}").unlink(missing_ok=True)

    # --- writing ----------------------------------------------------------------------------

    def receive(self, chunks: Iterable[bytes]) -> Incoming:
        """Write a body to a temporary file, hashing it on the way. The caller commits or discards it."""
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        fd, name = tempfile.mkstemp(dir=self._incoming_dir, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Incoming(Path(name), size, digest.hexdigest())

    @staticmethod
    def discard(incoming: Incoming) -> None:
        incoming.path.unlink(missing_ok=True)

    def check_write(self, pathname: str, options: WriteOptions) -> None:
        """The conflict rules, checked early (before a body is received) and again at commit."""
        with self._lock:
            current = self._index.get(pathname)
            if options.if_match is not None:
                if current is None or current.etag != options.if_match:
                    raise precondition_failed()
            elif current is not None and not options.allow_overwrite and not options.add_random_suffix:
                raise bad_request(ALREADY_EXISTS_MESSAGE)

    def final_pathname(self, pathname: str, options: WriteOptions) -> str:
        if not options.add_random_suffix:
            return pathname
        with self._lock:
            while True:
                candidate = with_random_suffix(pathname)
                if candidate not in self._index:
                    return candidate

    def commit(self, pathname: str, incoming: Incoming, options: WriteOptions) -> BlobRecord:
        """Make `incoming` the content of `pathname` (already suffixed), if the conflict rules allow."""
        cache_max_age = DEFAULT_CACHE_MAX_AGE if options.cache_max_age is None else options.cache_max_age
        record = BlobRecord(
            pathname=pathname,
            size=incoming.size,
            etag=f'"{incoming.md5}"',
            uploaded_at=_now_iso(),
            content_type=options.content_type or guess_content_type(pathname),
            cache_max_age=max(MIN_CACHE_MAX_AGE, cache_max_age),
            file_id=uuid.uuid4().hex,
        )
        with self._lock:
            try:
                self.check_write(pathname, options)
            except BlobApiError:
                self.discard(incoming)
                raise
            os.replace(incoming.path, self._content_path(record))
            meta_tmp = self._blobs_dir / f"{record.file_id}.json.tmp"
            meta_tmp.write_text(json.dumps(asdict(record)))
            os.replace(meta_tmp, self._blobs_dir / f"{record.file_id}.json")
            previous = self._index.get(pathname)
            self._index[pathname] = record
            if previous is None:
                bisect.insort(self._sorted, pathname)
            else:
                self._remove_files(previous)
        return record

    def copy(self, source: str, destination: str, options: WriteOptions) -> BlobRecord:
        """Copy a blob; `if_match` is checked against the source, as the Python SDK documents."""
        with self._lock:
            record = self._index.get(source)
            if record is None:
                raise not_found()
            if options.if_match is not None and record.etag != options.if_match:
                raise precondition_failed()
            # Hold the source's content open so a concurrent replace cannot take it away mid-copy.
            handle = self.open_content(record)
        destination_options = WriteOptions(
            content_type=options.content_type,
            add_random_suffix=options.add_random_suffix,
            allow_overwrite=options.allow_overwrite,
            cache_max_age=options.cache_max_age,
        )
        with handle:
            incoming = self.receive(iter(lambda: handle.read(COPY_BUFFER), b""))
        return self.commit(self.final_pathname(destination, destination_options), incoming, destination_options)

    def delete(self, pathnames: list[str], *, if_match: str | None = None) -> None:
        with self._lock:
            if if_match is not None:
                current = self._index.get(pathnames[0])
                if current is None or current.etag != if_match:
                    raise precondition_failed()
            for pathname in pathnames:
                record = self._index.pop(pathname, None)
                if record is None:
                    continue
                position = bisect.bisect_left(self._sorted, pathname)
                del self._sorted[position]
                self._remove_files(record)

    # --- listing ----------------------------------------------------------------------------

    def list(
        self, *, prefix: str, limit: int, cursor: str | None, folded: bool
    ) -> tuple[list[BlobRecord], list[str], str | None]:
        """One page: (blobs, folders, next cursor or None), in pathname order.

        In folded mode a folder takes the place of everything under it and counts as one entry
        against `limit`; the cursor is the last key of the page (a pathname or a folder prefix).
        """
        after = decode_cursor(cursor) if cursor else None
        blobs: list[BlobRecord] = []
        folders: list[str] = []
        last_key: str | None = None
        with self._lock:
            start = bisect.bisect_left(self._sorted, prefix)
            for position in range(start, len(self._sorted)):
                pathname = self._sorted[position]
                if not pathname.startswith(prefix):
                    break
                key, is_folder = pathname, False
                if folded:
                    rest = pathname[len(prefix) :]
                    if "/" in rest:
                        key, is_folder = prefix + rest.split("/", 1)[0] + "/", True
                if after is not None and key <= after:
                    continue
                if is_folder and folders and folders[-1] == key:
                    continue
                if len(blobs) + len(folders) == limit:
                    return blobs, folders, encode_cursor(last_key)
                if is_folder:
                    folders.append(key)
                else:
                    blobs.append(self._index[pathname])
                last_key = key
        return blobs, folders, None

    # --- multipart --------------------------------------------------------------------------

    def mpu_create(self, pathname: str, options: WriteOptions) -> _Upload:
        self.check_write(pathname, options)
        key = self.final_pathname(pathname, options)
        upload_id = secrets.token_urlsafe(24)
        directory = self._uploads_dir / upload_id
        directory.mkdir()
        upload = _Upload(upload_id=upload_id, key=key, options=options, directory=directory, parts={})
        with self._lock:
            self._uploads[upload_id] = upload
        return upload

    def _upload(self, upload_id: str, key: str) -> _Upload:
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None or upload.key != key:
            raise BlobApiError(404, "not_found", "The multipart upload does not exist or was already completed.")
        return upload

    def mpu_part(self, upload_id: str, key: str, number: int, incoming: Incoming) -> str:
        try:
            upload = self._upload(upload_id, key)
        except BlobApiError:
            self.discard(incoming)
            raise
        etag = f'"{incoming.md5}"'
        os.replace(incoming.path, upload.directory / f"{number}.part")
        with self._lock:
            upload.parts[number] = (etag, incoming.size)
        return etag

    def _concatenate(self, directory: Path, ordered: list[tuple[int, str]]) -> Incoming:
        """The parts joined into one file by the kernel (copy_file_range): the bytes never pass through
        Python again, so completing costs next to nothing beside receiving the parts, as a single PUT's
        commit does. The ETag is S3's multipart scheme, the MD5 of the parts' MD5s and "-<parts>", from
        the digests taken as the parts arrived (no second hashing pass)."""
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        fd, name = tempfile.mkstemp(dir=self._incoming_dir, suffix=".part")
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                for number, etag in ordered:
                    with (directory / f"{number}.part").open("rb", buffering=0) as part:
                        size += _append(part, out)
                    digest.update(bytes.fromhex(etag.strip('"')))
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Incoming(Path(name), size, f"{digest.hexdigest()}-{len(ordered)}")

    def mpu_complete(self, upload_id: str, key: str, parts: list[tuple[int, str]], options: WriteOptions) -> BlobRecord:
        upload = self._upload(upload_id, key)
        if not parts:
            raise bad_request("A multipart upload needs at least one part.")
        ordered = sorted(parts)  # clients may list parts in completion order; the service sorts them
        numbers = [number for number, _ in ordered]
        if len(set(numbers)) != len(numbers):
            raise bad_request("Each part number may be listed only once.")
        with self._lock:
            known = dict(upload.parts)
        for index, (number, etag) in enumerate(ordered):
            if number not in known or known[number][0] != etag:
                raise bad_request(f"Part {number} was not uploaded or its etag does not match.")
            if index < len(ordered) - 1 and known[number][1] < MIN_PART_SIZE:
                raise bad_request(f"Part {number} is smaller than the minimum part size of 5 MiB.")
        merged = WriteOptions(
            content_type=upload.options.content_type,
            add_random_suffix=False,  # the key already carries the suffix chosen at create
            allow_overwrite=upload.options.allow_overwrite or options.allow_overwrite,
            cache_max_age=upload.options.cache_max_age,
            if_match=options.if_match or upload.options.if_match,
        )
        if upload.options.add_random_suffix and merged.if_match is None:
            merged = WriteOptions(**{**asdict(merged), "allow_overwrite": True})

        incoming = self._concatenate(upload.directory, ordered)
        record = self.commit(upload.key, incoming, merged)
        with self._lock:
            self._uploads.pop(upload_id, None)
        shutil.rmtree(upload.directory, ignore_errors=True)
        return record


def _append(source, out) -> int:
    """Append all of `source` to `out` (unbuffered files), in the kernel when it can; the bytes copied."""
    length = os.fstat(source.fileno()).st_size
    copied = 0
    try:
        while copied < length:
            sent = os.copy_file_range(source.fileno(), out.fileno(), length - copied)
            if sent == 0:
                break
            copied += sent
    except OSError:
        pass  # a file system without it: the rest by reads below
    if copied < length:
        source.seek(copied)
        shutil.copyfileobj(source, out, COPY_BUFFER)
    return length
