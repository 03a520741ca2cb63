"""The Vercel Blob HTTP API, as the official SDKs speak it, over one pooled requests session.

Every call has explicit connect/read timeouts and goes through the retry policy: the unavailable
family of errors (5xx, rate limits with an acceptable `retry-after`, refused/reset/cut
connections, timeouts) is retried with exponential backoff and jitter up to `retries` extra
attempts; everything else is raised at once. A body is re-sent only if it can be rewound.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from storage_app import attempts
from storage_app.backends.vercel_blob.errors import (
    error_from_exception,
    error_from_response,
    is_retriable,
    missing,
)
from storage_app.backends.vercel_blob.io import RangeReader, UploadSource
from storage_app.backoff import Backoff
from storage_app.exceptions import StorageServiceError

logger = logging.getLogger("storage_app.backends.vercel_blob.storage")

API_VERSION = "12"
MAX_PARTS = 10_000
JSON = dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    retries: int  # extra attempts after the first
    base_delay: float  # seconds before the first retry; doubled for each further one
    max_delay: float  # no single wait is longer; a longer retry-after is not waited for

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        # The shared policy (storage_app.backoff): base doubled per retry, capped, equal jitter.
        return Backoff(base=self.base_delay, cap=self.max_delay, jitter=0.5).delay(state.attempt_number)


@dataclass(frozen=True)
class WriteOptions:
    access: str
    allow_overwrite: bool = False
    add_random_suffix: bool = False
    content_type: str | None = None
    cache_control_max_age: int | None = None

    def headers(self) -> dict[str, str]:
        headers = {
            "x-vercel-blob-access": self.access,
            "x-add-random-suffix": "1" if self.add_random_suffix else "0",
            "x-allow-overwrite": "1" if self.allow_overwrite else "0",
        }
        if self.content_type:
            headers["x-content-type"] = self.content_type
        if self.cache_control_max_age is not None:
            headers["x-cache-control-max-age"] = str(self.cache_control_max_age)
        return headers


# A request body (RangeReader) is read and sent this many bytes at a time. urllib3's default, 16 KiB,
# costs a Python-level read and send per 16 KiB: about a third more time for a multipart part.
SEND_BLOCK = 256 * 1024


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blocksize", SEND_BLOCK)
        super().init_poolmanager(*args, **kwargs)


class VercelBlobClient:
    """Blob API calls for one store. Thread-safe; a forked process gets its own connections."""

    def __init__(
        self,
        *,
        token: str,
        api_url: str,
        access: str,
        connect_timeout: float,
        read_timeout: float,
        retry: RetryPolicy,
        pool_size: int,
        alias: str,
    ) -> None:
        self.alias = alias  # the storage's STORAGES alias: the `backend` of every error raised here
        self._token = token
        self.api_url = api_url.rstrip("/")
        self.access = access
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry
        self._pool_size = pool_size
        self._session: requests.Session | None = None
        self._session_pid = 0
        self._session_lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the token
        return f"<VercelBlobClient {self.api_url} access={self.access}>"

    @property
    def session(self) -> requests.Session:
        # Sockets must not be shared across fork (gunicorn, celery prefork): one session per process.
        with self._session_lock:
            if self._session is None or self._session_pid != os.getpid():
                session = requests.Session()
                adapter = _Adapter(pool_connections=2, pool_maxsize=self._pool_size, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.trust_env = False  # no .netrc credentials or proxy variables sneaking in
                self._session, self._session_pid = session, os.getpid()
            return self._session

    def close(self) -> None:
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    # --- one request, with retries ----------------------------------------------------------

    def _call(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        pathname: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: RangeReader | bytes | None = None,
        stream: bool = False,
        authorize: bool = True,
    ) -> requests.Response:
        base_headers = {"x-api-version": API_VERSION} if url.startswith(self.api_url) else {}
        if authorize:
            base_headers["authorization"] = f"Bearer {self._token}"
        all_headers = {**base_headers, **(headers or {})}

        def attempt() -> requests.Response:
            if isinstance(body, RangeReader):
                body.rewind()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    headers=all_headers,
                    data=body,
                    timeout=attempts.request_timeout(*self.timeout),
                    stream=stream,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise error_from_exception(exc, operation=operation, pathname=pathname, backend=self.alias) from exc
            if response.status_code >= 400:
                try:
                    raise error_from_response(response, operation=operation, pathname=pathname, backend=self.alias)
                finally:
                    response.close()
            return response

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.warning(
                "Vercel Blob %s %r: attempt %d failed (%s), retrying",
                operation,
                pathname,
                state.attempt_number,
                type(exc).__name__,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.retries + 1),
            wait=self.retry.wait,
            # Within a failover scope (a backend with a next one), a refused connection or a timeout
            # moves the caller on at once instead of spending the retry budget (storage_app.attempts).
            retry=retry_if_exception(
                lambda exc: is_retriable(exc, max_delay=self.retry.max_delay) and attempts.may_retry(exc)
            ),
            before_sleep=log_retry,
            reraise=True,
        )
        return retrying(attempt)

    def _json(self, response: requests.Response, operation: str, pathname: str) -> JSON:
        try:
            payload = response.json()
        except (ValueError, requests.RequestException) as exc:
            raise StorageServiceError(
                f"Vercel Blob {operation} {pathname!r}: the reply is not JSON", backend=self.alias
            ) from exc
        if not isinstance(payload, dict):
            raise StorageServiceError(
                f"Vercel Blob {operation} {pathname!r}: the reply is not an object", backend=self.alias
            )
        return payload

    def _api(self, operation: str, method: str, suffix: str, *, pathname: str, **kwargs) -> JSON:
        response = self._call(operation, method, self.api_url + suffix, pathname=pathname, **kwargs)
        return self._json(response, operation, pathname)

    # --- operations -------------------------------------------------------------------------

    def put(self, pathname: str, body: RangeReader, options: WriteOptions) -> JSON:
        return self._api(
            "put", "PUT", "/", pathname=pathname, params={"pathname": pathname}, headers=options.headers(), body=body
        )

    def head(self, pathname: str) -> JSON:
        return self._api("head", "GET", "", pathname=pathname, params={"url": pathname})

    def list(self, *, prefix: str, cursor: str | None, limit: int = 1000, folded: bool = False) -> JSON:
        params = {"limit": str(limit)}
        if prefix:
            params["prefix"] = prefix
        if cursor:
            params["cursor"] = cursor
        if folded:
            params["mode"] = "folded"
        return self._api("list", "GET", "", pathname=prefix, params=params)

    def copy(self, source: str, destination: str, options: WriteOptions) -> JSON:
        return self._api(
            "copy",
            "PUT",
            "",
            pathname=destination,
            params={"pathname": destination, "fromUrl": source},
            headers=options.headers(),
        )

    def delete(self, pathnames: list[str]) -> None:
        body = json.dumps({"urls": pathnames}).encode()
        self._api(
            "delete",
            "POST",
            "/delete",
            pathname=pathnames[0] if len(pathnames) == 1 else "",
            headers={"content-type": "application/json"},
            body=body,
        )

    def open_content(self, url: str, *, pathname: str, start: int = 0) -> requests.Response:
        """A streamed GET of a blob's content from `start`; FileNotFoundError when there is none."""
        headers = {"accept-encoding": "identity"}
        if start:
            headers["range"] = f"bytes={start}-"
        try:
            return self._call(
                "read", "GET", url, pathname=pathname, headers=headers, stream=True, authorize=self.access == "private"
            )
        except FileNotFoundError:
            raise missing(pathname) from None

    # --- multipart --------------------------------------------------------------------------

    def multipart_upload(
        self,
        pathname: str,
        source: UploadSource,
        size: int,
        options: WriteOptions,
        *,
        part_size: int,
        max_in_flight: int,
    ) -> JSON:
        """create, parts (at most `max_in_flight` at a time, each retried on its own), complete."""
        headers = options.headers()
        created = self._api(
            "multipart create",
            "POST",
            "/mpu",
            pathname=pathname,
            params={"pathname": pathname},
            headers={**headers, "x-mpu-action": "create"},
        )
        upload_id, key = created.get("uploadId"), created.get("key")
        if not isinstance(upload_id, str) or not isinstance(key, str) or not upload_id or not key:
            raise StorageServiceError(f"Vercel Blob multipart create {pathname!r}: no uploadId/key", backend=self.alias)
        ids = {"x-mpu-upload-id": upload_id, "x-mpu-key": quote(key, safe="~()*!.'-")}
        part_size = max(part_size, -(-size // MAX_PARTS))

        def send_part(number: int, start: int) -> tuple[int, str]:
            reader = RangeReader(source, start, min(part_size, size - start))
            reply = self._api(
                f"multipart part {number}",
                "POST",
                "/mpu",
                pathname=pathname,
                params={"pathname": pathname},
                headers={**headers, **ids, "x-mpu-action": "upload", "x-mpu-part-number": str(number)},
                body=reader,
            )
            etag = reply.get("etag")
            if not isinstance(etag, str) or not etag:
                raise StorageServiceError(
                    f"Vercel Blob multipart part {number} {pathname!r}: no etag", backend=self.alias
                )
            return number, etag

        parts = _run_bounded(
            send_part, [(n, start) for n, start in enumerate(range(0, size, part_size), 1)], max_in_flight
        )
        return self._api(
            "multipart complete",
            "POST",
            "/mpu",
            pathname=pathname,
            params={"pathname": pathname},
            headers={**headers, **ids, "x-mpu-action": "complete", "content-type": "application/json"},
            body=json.dumps([{"etag": etag, "partNumber": number} for number, etag in sorted(parts)]).encode(),
        )


def _run_bounded(work: Callable[..., Any], jobs: list[tuple], max_in_flight: int) -> list:
    """Results of `work(*job)` for every job, never more than `max_in_flight` at once; the first error wins."""
    results = []
    pending: set[Future] = set()
    queue = iter(jobs)
    with ThreadPoolExecutor(max_workers=max(1, min(max_in_flight, len(jobs))), thread_name_prefix="vercel-mpu") as pool:
        try:
            for job in queue:
                if len(pending) >= max_in_flight:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    results.extend(future.result() for future in done)
                pending.add(pool.submit(work, *job))
            done, pending = wait(pending)
            results.extend(future.result() for future in done)
        finally:
            for future in pending:
                future.cancel()
    return results
