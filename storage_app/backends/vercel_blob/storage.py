"""VercelBlobStorage: a Django Storage for Vercel Blob, the primary store of Instantory.

A StorageBackend (storage_app.backends.base): its options default to the settings of the "Vercel
Blob" block of instantory/settings.py (`get_default_settings()`), every keyword argument, i.e.
`STORAGES[alias]["OPTIONS"]`, overrides its setting, an unknown one is refused, and the class is
deconstructible. Without a token the storage can be built but not used: `is_configured()` is False
(`not_configured_reason` says so), and the fallback layer leaves it out.

Behaviour (docs/vercel-blob.md has the long form):
- names are checked before any request (`..`, NUL, control characters, absolute, > 950 units);
- overwrite policy: by default an existing name is never replaced (Django picks another name, and a
  race lost at the service is answered by picking another name again); `allow_overwrite=True`
  replaces (`x-allow-overwrite: 1`); `add_random_suffix=True` lets the service add a suffix and
  `_save` returns the pathname it chose;
- files at or above `multipart_threshold` go through the multipart protocol, `max_parts_in_flight`
  parts at a time, read positionally from the file, so memory does not grow with the file's size;
- `open()` streams one GET (no HEAD first), resuming with Range after a cut connection;
- `url()` makes no request: the public blob URL, or for a private store a signed URL of Instantory's
  own view that streams the blob (the token never leaves the server).
"""

from __future__ import annotations

import mimetypes
import os
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.storage import Storage
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from storages.utils import setting

from storage_app.backends.base import StorageBackend
from storage_app.backends.names import check_save_arguments, clean_name
from storage_app.backends.vercel_blob import signing as vercel_blob_signing
from storage_app.backends.vercel_blob.client import RetryPolicy, VercelBlobClient, WriteOptions
from storage_app.backends.vercel_blob.client_uploads import blob_url_to_pathname
from storage_app.backends.vercel_blob.errors import missing
from storage_app.backends.vercel_blob.io import BlobReader, RangeReader, VercelBlobFile, open_upload_source
from storage_app.exceptions import StorageFileExists, StorageServiceError

MAX_PATHNAME_LENGTH = 950  # UTF-16 code units, the service's limit
RANDOM_SUFFIX_LENGTH = 31  # "-" + 30 alphanumerics
MIN_PART_SIZE = 5 * 1024**2
MAX_PART_SIZE = 5 * 1024**3
MAX_NAME_ATTEMPTS = 20
SMALL_BODY_MAX = 1024 * 1024  # single PUTs up to this size are sent from memory (_put_body)
_TOKEN = re.compile(r"^vercel_blob_rw_([A-Za-z0-9-]+)_(\S+)$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[ -~]*)?$")


def store_id_from_token(token: str) -> str:
    match = _TOKEN.match(token)
    if not match:
        # The token itself is never echoed: it is a secret.
        raise ImproperlyConfigured(
            "BLOB_READ_WRITE_TOKEN is not a Vercel Blob read-write token (expected vercel_blob_rw_<storeId>_<secret>)"
        )
    return match.group(1)


@deconstructible(path="storage_app.backends.vercel_blob.storage.VercelBlobStorage")
class VercelBlobStorage(StorageBackend, Storage):
    default_alias = "vercel"
    list_page_size = 1000  # the service's maximum; tests lower it to exercise paging

    def get_default_settings(self) -> dict[str, Any]:
        return {
            **super().get_default_settings(),
            "token": setting("BLOB_READ_WRITE_TOKEN"),
            "api_url": setting("VERCEL_BLOB_API_URL", "https://vercel.com/api/blob"),
            "url_base": setting("VERCEL_BLOB_URL_BASE"),  # None: https://<storeId>.<access>.blob.vercel-storage.com
            "access": setting("VERCEL_BLOB_ACCESS", "public"),
            "multipart_threshold": setting("VERCEL_BLOB_MULTIPART_THRESHOLD", 512 * 1024**2),
            "part_size": setting("VERCEL_BLOB_PART_SIZE", 16 * 1024**2),
            "max_parts_in_flight": setting("VERCEL_BLOB_MAX_PARTS_IN_FLIGHT", 4),
            "connect_timeout": setting("VERCEL_BLOB_CONNECT_TIMEOUT", 3.0),
            "read_timeout": setting("VERCEL_BLOB_READ_TIMEOUT", 30.0),
            "retries": setting("VERCEL_BLOB_RETRIES", 3),
            "retry_base_delay": setting("VERCEL_BLOB_RETRY_BASE_DELAY", 0.5),
            "retry_max_delay": setting("VERCEL_BLOB_RETRY_MAX_DELAY", 8.0),
            "signed_url_ttl": setting("VERCEL_BLOB_SIGNED_URL_TTL", 3600),
            "allow_overwrite": False,
            "add_random_suffix": False,
            "cache_control_max_age": None,
        }

    def configure(self, options: dict[str, Any]) -> None:
        self.token: str | None = (options["token"] or "").strip() or None
        self.store_id = store_id_from_token(self.token) if self.token else None
        self.access: str = options["access"]
        if self.access not in ("public", "private"):
            raise ImproperlyConfigured(f"access must be 'public' or 'private', not {self.access!r}")
        self.api_url: str = options["api_url"].rstrip("/")
        self.url_base: str | None = (options["url_base"] or "").rstrip("/") or (
            f"https://{self.store_id.lower()}.{self.access}.blob.vercel-storage.com" if self.store_id else None
        )
        self.multipart_threshold = int(options["multipart_threshold"])
        self.part_size = int(options["part_size"])
        self.max_parts_in_flight = int(options["max_parts_in_flight"])
        if self.multipart_threshold < 1:
            raise ImproperlyConfigured("multipart_threshold must be at least 1 byte")
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ImproperlyConfigured("part_size must be between 5 MiB and 5 GiB (the service's part limits)")
        if not 1 <= self.max_parts_in_flight <= 64:
            raise ImproperlyConfigured("max_parts_in_flight must be between 1 and 64")
        self.retry = RetryPolicy(
            retries=int(options["retries"]),
            base_delay=float(options["retry_base_delay"]),
            max_delay=float(options["retry_max_delay"]),
        )
        if self.retry.retries < 0 or self.retry.base_delay < 0 or self.retry.max_delay < 0:
            raise ImproperlyConfigured("retries and retry delays must not be negative")
        self.connect_timeout = float(options["connect_timeout"])
        self.read_timeout = float(options["read_timeout"])
        self.signed_url_ttl = int(options["signed_url_ttl"])
        allow_overwrite, add_random_suffix = options["allow_overwrite"], options["add_random_suffix"]
        if allow_overwrite and add_random_suffix:
            raise ImproperlyConfigured("allow_overwrite and add_random_suffix cannot both be set")
        self.allow_overwrite = bool(allow_overwrite)
        self.add_random_suffix = bool(add_random_suffix)
        cache_control_max_age = options["cache_control_max_age"]
        if cache_control_max_age is not None and cache_control_max_age < 60:
            raise ImproperlyConfigured("cache_control_max_age must be at least 60 seconds (the service's minimum)")
        self.cache_control_max_age = cache_control_max_age
        self._client: VercelBlobClient | None = None

    def __repr__(self) -> str:  # never shows the token
        return f"<VercelBlobStorage {self.alias} {self.access} store={self.store_id or 'unconfigured'}>"

    # --- configuration ----------------------------------------------------------------------

    @property
    def not_configured_reason(self) -> str:
        return "" if self.token else "no BLOB_READ_WRITE_TOKEN"

    def secrets(self) -> list[str]:
        if not self.token:
            return []
        return [self.token, self.token.rsplit("_", 1)[-1]]

    @property
    def client(self) -> VercelBlobClient:
        if self.token is None:
            raise ImproperlyConfigured("Vercel Blob is not configured: set BLOB_READ_WRITE_TOKEN")
        if self._client is None:
            self._client = VercelBlobClient(
                token=self.token,
                api_url=self.api_url,
                access=self.access,
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                retry=self.retry,
                pool_size=self.max_parts_in_flight + 4,
                alias=self.alias,
            )
        return self._client

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_client"] = None  # sessions and sockets do not travel
        return state

    def _pathname(self, name: str, *, allow_empty: bool = False) -> str:
        return clean_name(name, max_length=MAX_PATHNAME_LENGTH, utf16_length=True, allow_empty=allow_empty)

    def _write_options(self, name: str, content) -> WriteOptions:
        return WriteOptions(
            access=self.access,
            allow_overwrite=self.allow_overwrite,
            add_random_suffix=self.add_random_suffix,
            content_type=_content_type(name, content),
            cache_control_max_age=self.cache_control_max_age,
        )

    # --- names ------------------------------------------------------------------------------

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        if not (self.allow_overwrite or self.add_random_suffix):
            return super().get_available_name(name, max_length=max_length)
        # The name is used as it is (overwrite) or the service makes it unique (suffix): no lookups,
        # only the length is fitted, keeping room for the suffix the service will add.
        name = self._pathname(str(name).replace("\\", "/"))
        reserve = RANDOM_SUFFIX_LENGTH if self.add_random_suffix else 0
        if max_length is not None and len(name) + reserve > max_length:
            directory, _, filename = name.rpartition("/")
            root, dot, ext = filename.partition(".")
            excess = len(name) + reserve - max_length
            if excess >= len(root):
                raise SuspiciousFileOperation(
                    f'Storage can not find an available filename for "{name}". '
                    'Please make sure that the corresponding file field allows sufficient "max_length".'
                )
            filename = root[:-excess] + dot + ext
            name = f"{directory}/{filename}" if directory else filename
        return name

    # --- Storage API ------------------------------------------------------------------------

    def save(self, name: str | None, content, max_length: int | None = None) -> str:
        check_save_arguments(name, content)
        return super().save(name, content, max_length=max_length)

    def _open(self, name: str, mode: str = "rb") -> VercelBlobFile:
        if mode not in ("rb", "r"):
            raise ValueError(f"Vercel Blob files open read-only ('rb'), not {mode!r}; save new content with save()")
        pathname = self._pathname(name)
        url = self._content_url(pathname)
        client = self.client
        response = client.open_content(url, pathname=pathname)
        length = response.headers.get("Content-Length")
        # Without a length the end of the stream could not be told from a cut: ask the API then.
        size = int(length) if length is not None and length.isdigit() else self.size(pathname)
        reader = BlobReader(
            name=pathname,
            size=size,
            etag=response.headers.get("ETag"),
            response=response,
            open_at=lambda start: client.open_content(url, pathname=pathname, start=start),
            retries=self.retry.retries,
            alias=self.alias,
        )
        return VercelBlobFile(
            reader, name=pathname, size=size, content_type=response.headers.get("Content-Type"), etag=reader._etag
        )

    def _save(self, name: str, content) -> str:
        pathname = self._pathname(name)
        with open_upload_source(content) as (source, size):
            for attempt in range(MAX_NAME_ATTEMPTS):
                options = self._write_options(pathname, content)
                try:
                    if size >= self.multipart_threshold:
                        result = self.client.multipart_upload(
                            pathname,
                            source,
                            size,
                            options,
                            part_size=self.part_size,
                            max_in_flight=self.max_parts_in_flight,
                        )
                    else:
                        result = self.client.put(pathname, _put_body(source, size), options)
                except StorageFileExists:
                    # Someone took the name between get_available_name() and now: choose again, as
                    # FileSystemStorage does when its exclusive create fails.
                    if self.allow_overwrite or self.add_random_suffix or attempt == MAX_NAME_ATTEMPTS - 1:
                        raise
                    pathname = self._pathname(self.get_available_name(pathname))
                    continue
                stored = result.get("pathname")
                if not isinstance(stored, str) or not stored:
                    raise StorageServiceError(
                        f"Vercel Blob put {pathname!r}: the reply has no pathname", backend=self.alias
                    )
                return stored
        raise AssertionError("unreachable")  # pragma: no cover

    def delete(self, name: str) -> None:
        if not name:
            raise ValueError("The name must be given to delete().")
        self.client.delete([self._pathname(name)])

    def exists(self, name: str) -> bool:
        try:
            self.blob_info(name)
        except FileNotFoundError:
            return False
        return True

    def size(self, name: str) -> int:
        size = self.blob_info(name).get("size")
        if not isinstance(size, int):
            raise StorageServiceError(f"Vercel Blob head {name!r}: the reply has no size", backend=self.alias)
        return size

    def url(self, name: str) -> str:
        pathname = self._pathname(name)
        if self.access == "private":
            return vercel_blob_signing.signed_url(self.alias, pathname, self.signed_url_ttl)
        return self._content_url(pathname)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = self._pathname(path or "", allow_empty=True)
        prefix = f"{prefix}/" if prefix else ""
        directories: list[str] = []
        files: list[str] = []
        cursor: str | None = None
        seen_cursors: set[str] = set()
        while True:
            page = self.client.list(prefix=prefix, cursor=cursor, limit=self.list_page_size, folded=True)
            for folder in page.get("folders") or []:
                if isinstance(folder, str) and folder.startswith(prefix) and folder != prefix:
                    directories.append(folder[len(prefix) :].rstrip("/"))
            for blob in page.get("blobs") or []:
                rest = str(blob.get("pathname", ""))[len(prefix) :]
                if rest and "/" not in rest:
                    files.append(rest)
            if not page.get("hasMore"):
                return directories, files
            cursor = page.get("cursor")
            if not isinstance(cursor, str) or not cursor or cursor in seen_cursors:
                raise StorageServiceError(
                    f"Vercel Blob list {prefix!r}: the service's paging does not advance", backend=self.alias
                )
            seen_cursors.add(cursor)

    def get_modified_time(self, name: str) -> datetime:
        return self._uploaded_at(name)

    def get_created_time(self, name: str) -> datetime:
        # A blob is never modified in place; every write creates it anew.
        return self._uploaded_at(name)

    # --- beyond Django's API ----------------------------------------------------------------

    def blob_info(self, name: str) -> dict[str, Any]:
        """The service's head result (size, uploadedAt, etag, contentType, ...); FileNotFoundError if none."""
        pathname = self._pathname(name)
        try:
            return self.client.head(pathname)
        except FileNotFoundError:
            raise missing(pathname) from None

    def name_from_url(self, url: str) -> str | None:
        """Also reads blob URLs of the real form https://<storeId>.<access>.blob.vercel-storage.com/<pathname>."""
        pathname = blob_url_to_pathname(url, store_id=self.store_id, url_base=self.url_base)
        return pathname if pathname is not None else super().name_from_url(url)

    def _content_url(self, pathname: str) -> str:
        if self.url_base is None:
            raise ImproperlyConfigured(
                "Vercel Blob is not configured: set BLOB_READ_WRITE_TOKEN or VERCEL_BLOB_URL_BASE"
            )
        return f"{self.url_base}/{quote(pathname, safe='/')}"

    def _uploaded_at(self, name: str) -> datetime:
        raw = self.blob_info(name).get("uploadedAt")
        try:
            moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise StorageServiceError(
                f"Vercel Blob head {name!r}: uploadedAt {raw!r} is not a date", backend=self.alias
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment if settings.USE_TZ else timezone.make_naive(moment)


def _put_body(source, size: int) -> RangeReader | bytes:
    """The body of a single PUT: a small file as bytes, so http.client sends it with the headers in one
    write (as a raw client sending bytes does) instead of headers and body apart, which costs a round of
    wake-ups on both ends per request; a bigger one streamed from its file."""
    if size <= SMALL_BODY_MAX:
        body = source.read_at(0, size)
        if len(body) == size:
            return body
    return RangeReader(source, 0, size)


def _content_type(name: str, content) -> str | None:
    """The uploaded file's declared type if it is a well-formed media type, else a guess from the name."""
    declared = getattr(content, "content_type", None)
    if isinstance(declared, str) and _CONTENT_TYPE.match(declared) and len(declared) <= 255:
        return declared
    guessed, _ = mimetypes.guess_type(os.path.basename(name), strict=False)
    return guessed
