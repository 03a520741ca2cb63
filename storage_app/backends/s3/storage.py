"""S3 (or any S3-compatible server) through django-storages, with the storage layer's error families.

What this subclass changes in django-storages' S3Storage, and why:
- no silent overwrite: `file_overwrite=False`, because django-storages' default replaces an existing
  object with the same name (jschneier/django-storages#959);
- short timeouts and a bounded number of attempts, so a dead or hung server costs seconds, not the
  180 s of botocore's defaults, and the fallback layer can move on;
- every botocore error becomes one of storage_app.exceptions (unavailable vs rejected) or
  FileNotFoundError, with `backend` set, so the fallback layer and its breakers can tell them apart;
- reads stream the object's body (one GET, ranged GETs on seek) instead of downloading the whole
  object into memory first (jschneier/django-storages#383), and uploads use a bounded number of
  multipart chunks in flight, so memory does not grow with the file;
- hostile names (`..`, NUL, control characters, absolute, longer than S3's 1024-byte keys) and
  wrong argument types are refused before any request (storage_app.backends.names).
"""

from __future__ import annotations

import functools
import io
import tempfile
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import File
from django.utils.deconstruct import deconstructible
from storages.backends.s3 import S3Storage as DjangoStoragesS3Storage
from storages.utils import clean_name as storages_clean_name
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from storage_app import attempts
from storage_app.backends.base import StorageBackend
from storage_app.backends.names import check_save_arguments
from storage_app.backends.names import clean_name as checked_name
from storage_app.backends.streams import seek_target
from storage_app.exceptions import (
    StorageAccessDenied,
    StorageConnectionError,
    StorageError,
    StorageFileTooLarge,
    StoragePreconditionFailed,
    StorageRateLimited,
    StorageRejected,
    StorageServiceError,
    StorageSuspended,
    StorageTimeout,
    StorageUnavailable,
)

T = TypeVar("T")

READ_BUFFER_SIZE = 256 * 1024
MAX_KEY_LENGTH = 1024  # S3 keys are at most 1024 bytes of UTF-8; the location prefix counts too
MiB = 1024 * 1024

_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}
_DENIED_CODES = {
    "AccessDenied",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidToken",
    "ExpiredToken",
    "AllAccessDisabled",
}
_THROTTLED_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"}
_GONE_CODES = {"NoSuchBucket", "AccountProblem"}


def translate_error(exc: BaseException, backend: str) -> BaseException:
    """The storage-layer exception for a botocore/boto3 error (or the error itself if it is none of theirs)."""
    if isinstance(exc, StorageError | FileNotFoundError):
        return exc
    cause = exc
    # boto3's transfer manager wraps the ClientError of a failed upload in S3UploadFailedError.
    if not isinstance(exc, ClientError | BotoCoreError) and isinstance(exc.__cause__, ClientError | BotoCoreError):
        cause = exc.__cause__
    if isinstance(cause, ClientError):
        return _translate_client_error(cause, backend)
    if isinstance(cause, ConnectTimeoutError | ReadTimeoutError):
        return StorageTimeout(f"S3 timed out: {cause}", backend=backend)
    if isinstance(
        cause,
        EndpointConnectionError
        | BotoConnectionError
        | ConnectionClosedError
        | ResponseStreamingError
        | IncompleteReadError
        | HTTPClientError,
    ):
        return StorageConnectionError(f"S3 connection failed: {cause}", backend=backend)
    if isinstance(cause, NoCredentialsError | PartialCredentialsError):
        return StorageAccessDenied(f"S3 credentials are missing: {type(cause).__name__}", backend=backend)
    if isinstance(cause, ParamValidationError):
        return StorageRejected(f"S3 refused the request parameters: {cause}", backend=backend)
    if isinstance(cause, BotoCoreError):
        return StorageUnavailable(f"S3 client error: {cause}", backend=backend)
    if isinstance(cause, Urllib3HTTPError | ConnectionError):
        return StorageConnectionError(f"S3 connection failed: {type(cause).__name__}: {cause}", backend=backend)
    return exc


def _translate_client_error(exc: ClientError, backend: str) -> BaseException:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    message = f"S3 answered {status or '?'} {code}: {error.get('Message', '')}".strip()
    if code in _GONE_CODES:
        return StorageSuspended(message, backend=backend)
    if code in _NOT_FOUND_CODES or status == 404:
        return FileNotFoundError(message)
    if code in _DENIED_CODES or status in (401, 403):
        return StorageAccessDenied(message, backend=backend)
    if code in _THROTTLED_CODES or status == 429:
        retry_after = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("retry-after")
        try:
            seconds = float(retry_after) if retry_after else None
        except ValueError:
            seconds = None
        return StorageRateLimited(message, backend=backend, retry_after=seconds)
    if status >= 500 or code in {"InternalError", "ServiceUnavailable"}:
        return StorageServiceError(message, backend=backend)
    if status == 412 or code == "PreconditionFailed":
        return StoragePreconditionFailed(message, backend=backend)
    if status == 413 or code == "EntityTooLarge":
        return StorageFileTooLarge(message, backend=backend)
    return StorageRejected(message, backend=backend)


def _translated(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(self: S3Storage, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            translated = translate_error(exc, self.alias)
            if translated is exc:
                raise
            raise translated from exc

    return wrapper


def client_config() -> Config:
    """Short timeouts and few attempts, so an outage costs seconds; addressing style kept (a Config replaces it)."""
    return Config(
        connect_timeout=settings.AWS_S3_CONNECT_TIMEOUT,
        read_timeout=settings.AWS_S3_READ_TIMEOUT,
        # total_max_attempts counts the first try; {"max_attempts": 1} would mean two attempts.
        retries={"total_max_attempts": settings.AWS_S3_MAX_ATTEMPTS, "mode": "standard"},
        s3={"addressing_style": settings.AWS_S3_ADDRESSING_STYLE},
        signature_version="s3v4",
    )


def transfer_config() -> TransferConfig:
    """Multipart uploads of 5 MiB parts, two in flight and two read ahead, so memory stays near 20 MiB
    whatever the file size (s3transfer otherwise buffers up to 10 parts of 8 MiB)."""
    config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2)
    config.max_in_memory_upload_chunks = 2
    return config


@deconstructible
class S3Storage(StorageBackend, DjangoStoragesS3Storage):
    """django-storages' S3Storage with fail-fast timeouts, error families, no overwrite and streamed reads.

    Its options are django-storages' (bucket_name, location, endpoint_url, querystring_expire, ...,
    each defaulting to its AWS_* setting) plus `alias` (storage_app.backends.base).
    """

    default_alias = "s3"
    extra_options = frozenset({"cloudfront_signer"})  # django-storages takes it without a default

    def get_default_settings(self) -> dict[str, Any]:
        defaults = super().get_default_settings()
        defaults.update(
            {
                "file_overwrite": False,
                "client_config": client_config(),
                "transfer_config": transfer_config(),
                "region_name": settings.AWS_S3_REGION_NAME,
            }
        )
        return defaults

    @property
    def not_configured_reason(self) -> str:
        """A bucket is needed; no network call. Credentials may come from boto3's own chain."""
        return "" if self.bucket_name else "no AWS_STORAGE_BUCKET_NAME"

    def secrets(self) -> list[str]:
        return [value for value in (self.access_key, self.secret_key, self.security_token) if value]

    def name_from_url(self, url: str) -> str | None:
        """Also reads the seed's `s3://<bucket>/<key>` URLs of this bucket (and location)."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme != "s3":
            return super().name_from_url(url)
        if not self.bucket_name or parts.netloc != self.bucket_name:
            return None
        key = unquote(parts.path.lstrip("/"))
        location = (self.location or "").strip("/")
        if location:
            if not key.startswith(location + "/"):
                return None
            key = key[len(location) + 1 :]
        return key

    # --- fast failover (storage_app.attempts) ------------------------------------------------------
    # Inside a failover scope (a backend with somewhere else to go), requests go through a second
    # client with one attempt and the scope's timeout: a refused, reset or hung S3 costs at most
    # that long, and the chain moves on. The client's own Config (AWS_S3_MAX_ATTEMPTS, timeouts)
    # applies everywhere else.
    @property
    def connection(self):
        scope = attempts.current_scope()
        if scope is None:
            return super().connection
        connection = getattr(self._connections, "failover_connection", None)
        if connection is None or getattr(self._connections, "failover_timeout", None) != scope.timeout:
            config = self.client_config.merge(
                Config(
                    connect_timeout=min(settings.AWS_S3_CONNECT_TIMEOUT, scope.timeout),
                    read_timeout=min(settings.AWS_S3_READ_TIMEOUT, scope.timeout),
                    retries={"total_max_attempts": 1, "mode": "standard"},
                )
            )
            connection = self._create_session().resource(
                "s3",
                region_name=self.region_name,
                use_ssl=self.use_ssl,
                endpoint_url=self.endpoint_url,
                config=config,
                verify=self.verify,
            )
            self._connections.failover_connection = connection
            self._connections.failover_timeout = scope.timeout
        return connection

    @property
    def bucket(self):
        if attempts.current_scope() is None:
            return super().bucket
        return self.connection.Bucket(self.bucket_name)

    def describe(self) -> dict[str, Any]:
        """Where this backend points, for health output: no keys, no secrets."""
        return {"bucket": self.bucket_name, "endpoint": self.endpoint_url or "aws", "location": self.location}

    def _check(self, name: object, *, allow_empty: bool = False) -> str:
        cleaned = checked_name(name, allow_empty=allow_empty)
        if len(self._normalize_name(cleaned).encode("utf-8")) > MAX_KEY_LENGTH:
            raise SuspiciousFileOperation(f"File name is too long for an S3 key ({MAX_KEY_LENGTH} bytes at most).")
        return cleaned

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        check_save_arguments(name, content)
        if name is not None:
            self._check(name)
        return super().save(name, content, max_length=max_length)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return super().get_available_name(self._check(name), max_length=max_length)

    @_translated
    def _open(self, name: str, mode: str = "rb") -> File:
        name = self._check(name)
        if "w" in mode or "a" in mode or "+" in mode:
            return super()._open(name, mode)
        key = self._normalize_name(storages_clean_name(name))
        stream = S3ObjectStream(self, key)
        buffered = io.BufferedReader(stream, buffer_size=READ_BUFFER_SIZE)
        handle: io.IOBase = buffered if "b" in mode else io.TextIOWrapper(buffered, encoding="utf-8")
        return S3StreamedFile(handle, name=name, size=stream.size)

    @_translated
    def _save(self, name: str, content: Any) -> str:
        name = self._check(name)
        if _reads_text(content):
            # boto3 sizes the body by seek/tell, which count characters in a text stream: encode first.
            with tempfile.SpooledTemporaryFile(max_size=8 * MiB) as encoded:
                for chunk in content.chunks():
                    encoded.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
                encoded.seek(0)
                wrapped = File(encoded, name=getattr(content, "name", None))
                wrapped.content_type = getattr(content, "content_type", None)
                return super()._save(name, wrapped)
        size = _size_of(content)
        if size is not None and size < self.transfer_config.multipart_threshold and not self.gzip:
            return self._put_object(name, content, size)
        return super()._save(name, content)

    def _put_object(self, name: str, content: Any, size: int) -> str:
        """A file below the multipart threshold in one PutObject, as boto3's put_object sends it.

        django-storages hands every file to s3transfer's upload_fileobj, whose transfer manager (a
        thread pool, futures, a read-ahead queue) costs more than the request itself for a small
        file. Below the threshold (8 MiB) the body is read into memory once: bounded, and re-sendable
        on a retry.
        """
        cleaned = storages_clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        content.seek(0)
        body = content.read(size + 1)
        if len(body) != size:
            raise StorageRejected("the file being saved changed size while it was read")
        self.connection.meta.client.put_object(Bucket=self.bucket_name, Key=key, Body=body, **params)
        return cleaned

    @_translated
    def delete(self, name: str) -> None:
        super().delete(self._check(name))

    @_translated
    def exists(self, name: str) -> bool:
        return super().exists(self._check(name))

    @_translated
    def listdir(self, name: str) -> tuple[list[str], list[str]]:
        return super().listdir(self._check(name or "", allow_empty=True))

    @_translated
    def size(self, name: str) -> int:
        return super().size(self._check(name))

    @_translated
    def get_modified_time(self, name: str):
        return super().get_modified_time(self._check(name))

    def get_created_time(self, name: str):
        # S3 objects are never modified in place (a write replaces the whole object), so the last
        # modification is when this content was created.
        return self.get_modified_time(name)

    @_translated
    def url(self, name: str, parameters=None, expire=None, http_method=None) -> str:
        return super().url(self._check(name), parameters=parameters, expire=expire, http_method=http_method)

    def key_for(self, name: str) -> str:
        """The object key of a storage name (the name under `location`)."""
        return self._normalize_name(storages_clean_name(self._check(name)))


def _size_of(content: Any) -> int | None:
    try:
        size = content.size
    except (AttributeError, OSError, TypeError, ValueError, io.UnsupportedOperation):
        return None
    return size if isinstance(size, int) and size >= 0 else None


def _reads_text(content: Any) -> bool:
    try:
        content.seek(0)
        return isinstance(content.read(0), str)
    except (AttributeError, OSError, ValueError):
        return False


class S3ObjectStream(io.RawIOBase):
    """An S3 object's body read as it arrives; seeking reopens the body with a Range request."""

    def __init__(self, storage: S3Storage, key: str) -> None:
        super().__init__()
        self._storage = storage
        self._key = key
        self._position = 0
        self._body = None
        self.size = 0
        response = self._get(0)
        self.size = int(response["ContentLength"])
        self._body = response["Body"]

    def _get(self, start: int) -> dict:
        params: dict[str, Any] = {"Bucket": self._storage.bucket_name, "Key": self._key}
        if start:
            params["Range"] = f"bytes={start}-"
        try:
            return self._storage.connection.meta.client.get_object(**params)
        except Exception as exc:
            translated = translate_error(exc, self._storage.alias)
            if translated is exc:
                raise
            raise translated from exc

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._body is None:
            return 0
        try:
            data = self._body.read(len(buffer))
        except Exception as exc:
            translated = translate_error(exc, self._storage.alias)
            if translated is exc:
                raise StorageConnectionError(
                    f"S3 body read failed: {type(exc).__name__}", backend=self._storage.alias
                ) from exc
            raise translated from exc
        count = len(data)
        buffer[:count] = data
        self._position += count
        return count

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = seek_target(offset, whence, position=self._position, size=self.size)
        if target != self._position:
            self._close_body()
            if target < self.size:
                self._body = self._get(target)["Body"]
            self._position = target
        return self._position

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._close_body()
        super().close()


class S3StreamedFile(File):
    """A read-only File over a streamed S3 object; `size` comes from the GET, no extra HEAD."""

    def __init__(self, handle: io.IOBase, *, name: str, size: int) -> None:
        super().__init__(handle, name=name)
        self._size = size
        self.mode = "rb" if isinstance(handle, io.BufferedIOBase) else "r"

    @property
    def size(self) -> int:
        return self._size

    def open(self, mode: str | None = None) -> S3StreamedFile:
        self.seek(0)
        return self
