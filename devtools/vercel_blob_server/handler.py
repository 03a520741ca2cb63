"""HTTP handling of the local Vercel Blob server: the API under /api/blob, blob content, control routes.

Routing follows the wire protocol the official SDKs speak (docs/vercel-blob.md, "The local
Vercel Blob server"):
- `PUT /api/blob[/]?pathname=` stores, or copies when `fromUrl` is given;
- `GET /api/blob[/]` is head with `url=` and list without;
- `POST /api/blob/mpu` is the multipart protocol (`x-mpu-action`);
- `POST /api/blob/delete` deletes a batch, `POST /api/blob/rename` renames.
Everything else that is a GET or HEAD serves a blob's content at `/<pathname>`, as does any request
whose Host is `<storeId>.<access>.blob.vercel-storage.com`. `/_emulator/*` lets another process
switch faults and read the request counters.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, unquote, urlsplit

from devtools.vercel_blob_server.client_tokens import (
    CLIENT_ROUTES,
    CLIENT_TOKEN_PREFIX,
    ClientToken,
    issue_signed_token,
    parse_client_token,
    send_callback,
)
from devtools.vercel_blob_server.faults import FaultRule
from devtools.vercel_blob_server.state import BLOB_HOST_SUFFIX, ServerState
from devtools.vercel_blob_server.store import (
    MAX_PARTS,
    BlobApiError,
    BlobRecord,
    WriteOptions,
    bad_request,
    check_pathname,
    content_disposition,
    not_found,
)

logger = logging.getLogger("devtools.vercel_blob_server")

IO_CHUNK = 256 * 1024
MAX_JSON_BODY = 16 * 1024 * 1024
MAX_LIST_LIMIT = 1000
_INLINE_TYPES = ("text/plain", "text/xml", "application/json", "application/pdf")
_INLINE_PREFIXES = ("image/", "audio/", "video/")
_FORBIDDEN = "Access denied, please provide a valid token for this resource."


class _ClientGone(Exception):
    """The client closed the connection before sending its whole body."""


class BlobRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VercelBlobLocal/1.0"
    # A stalled client must not hold a handler thread forever.
    timeout = 120
    # TCP_NODELAY: a reply is written as headers then body; with Nagle on, the body waits for the
    # client's delayed ACK of the headers, 40 ms per request on a kept-alive connection.
    disable_nagle_algorithm = True

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def state(self) -> ServerState:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format: str, *args) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        """A browser's CORS preflight before a client upload (`upload()` in a page), answered as the service does."""
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers") or "*")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def end_headers(self) -> None:
        if self.headers.get("Origin"):
            # Pages of any origin may upload with a client token and read the reply (the service allows it).
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Expose-Headers", "*")
        super().end_headers()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self._body_left: int | None = None
        self._chunked = False
        self._fault: FaultRule | None = None
        self._client: ClientToken | None = None
        if self.state.refusing:
            # A kept-alive connection opened before refusal started: drop it like a dead server would.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._prepare_body()
        split = urlsplit(self.path)
        self._query = parse_qs(split.query, keep_blank_values=True)
        host = (urlsplit("//" + (self.headers.get("Host") or "")).hostname or "").lower()
        path = split.path
        try:
            if host.endswith(BLOB_HOST_SUFFIX):
                self._route("content", lambda: self._content(unquote(path[1:]), blob_host=host))
            elif path == "/_emulator" or path.startswith("/_emulator/"):
                self._control(path)
            elif path.rstrip("/") == "/api/blob" or (
                path.startswith("/api/blob/") and self.command not in ("GET", "HEAD")
            ):
                self._api(path.rstrip("/")[len("/api/blob") :])
            else:
                self._route("content", lambda: self._content(unquote(path[1:]), blob_host=None))
        except _ClientGone:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _route(self, route: str, handle) -> None:
        self.state.record(self.command, route, self.path, dict(self.headers.items()))
        self._fault = self.state.faults.take(route)
        self.state.started(route)
        try:
            if self._fault is not None and self._fault.kind == "error":
                headers = {"retry-after": self._fault.retry_after} if self._fault.retry_after else None
                raise BlobApiError(self._fault.status, self._fault.code, self._fault.message, headers=headers)
            handle()
        except BlobApiError as error:
            self._send_json(
                error.status, {"error": {"code": error.code, "message": error.message}}, extra_headers=error.headers
            )
        finally:
            self.state.finished(route)

    # --- request bodies ---------------------------------------------------------------------

    def _prepare_body(self) -> None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._chunked = True
            self._body_left = None
        else:
            try:
                self._body_left = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self._body_left = 0
                self.close_connection = True

    def _has_length(self) -> bool:
        return self.headers.get("Content-Length") is not None or self.headers.get("x-content-length") is not None

    def _body(self) -> Iterator[bytes]:
        """The request body in chunks, read from the socket as they are consumed."""
        if self._chunked:
            yield from self._chunked_body()
            return
        while self._body_left:
            chunk = self.rfile.read(min(IO_CHUNK, self._body_left))
            if not chunk:
                raise _ClientGone()
            self._body_left -= len(chunk)
            yield chunk

    def _chunked_body(self) -> Iterator[bytes]:
        while self._chunked:
            size_line = self.rfile.readline(1024)
            if not size_line:
                raise _ClientGone()
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise bad_request("Malformed chunked body.") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._chunked = False
                return
            left = size
            while left:
                chunk = self.rfile.read(min(IO_CHUNK, left))
                if not chunk:
                    raise _ClientGone()
                left -= len(chunk)
                yield chunk
            self.rfile.readline(16)

    def _drain(self) -> None:
        """Read what is left of the body, so the client sees our reply rather than a reset."""
        for _ in self._body():
            pass

    def _json_body(self):
        data = bytearray()
        for chunk in self._body():
            data += chunk
            if len(data) > MAX_JSON_BODY:
                raise BlobApiError(413, "bad_request", "The request body is too large.")
        try:
            return json.loads(data or b"null")
        except ValueError:
            raise bad_request("The request body is not valid JSON.") from None

    # --- replies ----------------------------------------------------------------------------

    def _send_json(self, status: int, payload, *, extra_headers: dict[str, str] | None = None) -> None:
        if self._chunked or self._body_left:
            try:
                self._drain()
            except BlobApiError:
                self.close_connection = True
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **(extra_headers or {})}
        self._send(status, headers, body=body, length=len(body))

    def _send(self, status: int, headers: dict[str, str], *, body=None, length: int = 0, start: int = 0) -> None:
        """Headers, then `length` bytes of `body` (bytes, or a file read from `start`), faults applied."""
        fault = self._fault
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD" or body is None or length == 0:
            return
        limit = fault.cut_after if fault is not None and fault.kind == "cut" else length
        if isinstance(body, bytes):
            self.wfile.write(body[: min(limit, length)])
        else:
            body.seek(start)
            sent = 0
            while sent < min(limit, length):
                chunk = body.read(min(IO_CHUNK, min(limit, length) - sent))
                if not chunk:
                    break
                self.wfile.write(chunk)
                sent += len(chunk)
        if limit < length:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _blob_url(self, pathname: str) -> str:
        return f"{self.state.url_base}/{quote(pathname, safe='/')}"

    def _put_result(self, record: BlobRecord) -> dict:
        url = self._blob_url(record.pathname)
        return {
            "url": url,
            "downloadUrl": f"{url}?download=1",
            "pathname": record.pathname,
            "contentType": record.content_type,
            "contentDisposition": content_disposition(record.pathname),
            "etag": record.etag,
        }

    def _cache_control(self, record: BlobRecord) -> str:
        return f"{self.state.access}, max-age={record.cache_max_age}"

    # --- API --------------------------------------------------------------------------------

    def _api(self, subpath: str) -> None:
        method = self.command
        if subpath == "" and method == "PUT":
            route = "copy" if "fromUrl" in self._query else "put"
        elif subpath == "" and method in ("GET", "HEAD"):
            route = "head" if "url" in self._query else "list"
        elif subpath == "/mpu" and method == "POST":
            route = "mpu." + (self.headers.get("x-mpu-action") or "unknown").lower()
            if route not in ("mpu.create", "mpu.upload", "mpu.complete"):
                route = "api.unknown"
        elif subpath == "/delete" and method == "POST":
            route = "delete"
        elif subpath == "/rename" and method == "POST":
            route = "rename"
        elif subpath == "/signed-token" and method == "POST":
            route = "signed-token"
        else:
            route = "api.unknown"
        handlers = {
            "put": self._api_put,
            "copy": self._api_copy,
            "head": self._api_head,
            "list": self._api_list,
            "delete": self._api_delete,
            "rename": self._api_rename,
            "mpu.create": self._api_mpu_create,
            "mpu.upload": self._api_mpu_upload,
            "mpu.complete": self._api_mpu_complete,
            "signed-token": self._api_signed_token,
        }

        def handle() -> None:
            self._authorize(route)
            if route == "api.unknown":
                raise bad_request(f"Unknown API route: {method} /api/blob{subpath}")
            handlers[route]()

        self._route(route, handle)

    def _authorize(self, route: str | None = None) -> None:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise BlobApiError(403, "forbidden", _FORBIDDEN)
        token = token.strip()
        if token.startswith(CLIENT_TOKEN_PREFIX):
            if route not in CLIENT_ROUTES:
                raise BlobApiError(
                    403, "client_token_not_allowed", "This operation is not available when using a client token."
                )
            self._client = parse_client_token(token, rw_token=self.state.token, store_id=self.state.store_id)
            return
        if not hmac.compare_digest(token.strip().encode(), self.state.token.encode()):
            raise BlobApiError(403, "forbidden", _FORBIDDEN)

    def _param(self, name: str, *, required: bool = True) -> str | None:
        values = self._query.get(name)
        if not values:
            if required:
                raise bad_request(f"Missing the {name} parameter.")
            return None
        return values[0]

    def _flag(self, header: str) -> bool:
        value = self.headers.get(header)
        if value is None:
            return False
        if value not in ("0", "1"):
            raise bad_request(f"{header} must be 0 or 1.")
        return value == "1"

    def _write_options(self) -> WriteOptions:
        max_age = self.headers.get("x-cache-control-max-age")
        if max_age is not None:
            try:
                max_age_value: int | None = int(max_age)
            except ValueError:
                raise bad_request("x-cache-control-max-age must be a number of seconds.") from None
            if max_age_value < 0:
                raise bad_request("x-cache-control-max-age must not be negative.")
        else:
            max_age_value = None
        if self._client is not None:
            # A client token carries these options; the client SDK refuses to send them itself.
            token = self._client.payload
            max_age = token.get("cacheControlMaxAge")
            return WriteOptions(
                content_type=self.headers.get("x-content-type") or None,
                add_random_suffix=bool(token.get("addRandomSuffix")),
                allow_overwrite=bool(token.get("allowOverwrite")),
                cache_max_age=int(max_age) if isinstance(max_age, int | float) else None,
                if_match=token.get("ifMatch") or None,
            )
        return WriteOptions(
            content_type=self.headers.get("x-content-type") or None,
            add_random_suffix=self._flag("x-add-random-suffix"),
            allow_overwrite=self._flag("x-allow-overwrite"),
            cache_max_age=max_age_value,
            if_match=self.headers.get("x-if-match") or None,
        )

    def _check_client_upload(self, pathname: str, *, size: int | None) -> None:
        """What a client token does not allow is refused before any byte is stored."""
        if self._client is None:
            return
        self._client.check_pathname(pathname)
        self._client.check_content_type(self.headers.get("x-content-type"), pathname)
        self._client.check_size(size)

    def _declared_length(self) -> int | None:
        for name in ("x-content-length", "Content-Length"):
            value = self.headers.get(name)
            if value is not None and value.strip().isdigit():
                return int(value)
        return None

    def _uploaded(self, record: BlobRecord) -> dict:
        """The reply to a finished upload; a client token's callback is sent after it."""
        result = self._put_result(record)
        if self._client is not None:
            if self._client.maximum_size is not None and record.size > self._client.maximum_size:
                self.state.store.delete([record.pathname])
                self._client.check_size(record.size)
            send_callback(self._client, result, rw_token=self.state.token, log=self.state.callbacks)
        return result

    def _check_access(self) -> None:
        access = self.headers.get("x-vercel-blob-access") or None
        if access is None:
            raise bad_request("Missing x-vercel-blob-access header.")
        if access not in ("public", "private"):
            raise bad_request('x-vercel-blob-access must be "public" or "private".')
        if access != self.state.access:
            raise bad_request(
                f"Cannot use {access} access on a {self.state.access} store. "
                f"The store is configured with {self.state.access} access."
            )

    def _target_pathname(self, url_or_pathname: str) -> str | None:
        """A pathname from a blob URL of this store (local or real host form) or a pathname; None if foreign."""
        if not url_or_pathname.startswith(("http://", "https://")):
            return url_or_pathname
        parts = urlsplit(url_or_pathname)
        local = urlsplit(self.state.url_base)
        same_local = parts.netloc.lower() == local.netloc.lower() and parts.scheme == local.scheme
        if not same_local and (parts.hostname or "").lower() != self.state.blob_host:
            return None
        prefix = local.path.rstrip("/") if same_local else ""
        if not parts.path.startswith(prefix + "/"):
            return None
        return unquote(parts.path[len(prefix) + 1 :])

    def _api_put(self) -> None:
        self._check_access()
        pathname = check_pathname(self._param("pathname"))
        options = self._write_options()
        if not self._has_length() and not (self._client is not None and self._chunked):
            raise bad_request("Missing [x]-content-length header.")
        self._check_client_upload(pathname, size=self._declared_length())
        self.state.store.check_write(pathname, options)
        incoming = self.state.store.receive(self._body())
        maximum = self._client.maximum_size if self._client is not None else None
        if maximum is not None and incoming.size > maximum:
            self.state.store.discard(incoming)
            self._client.check_size(incoming.size)
        record = self.state.store.commit(self.state.store.final_pathname(pathname, options), incoming, options)
        self._send_json(200, self._uploaded(record))

    def _api_copy(self) -> None:
        _source, record = self._copy_from_url()
        self._send_json(200, self._put_result(record))

    def _api_rename(self) -> None:
        source, record = self._copy_from_url()
        if record.pathname != source:
            self.state.store.delete([source])
        self._send_json(200, self._put_result(record))

    def _copy_from_url(self):
        """Copy the blob at `fromUrl` to `pathname`: (the source pathname, the new record)."""
        self._check_access()
        destination = check_pathname(self._param("pathname"))
        source = self._target_pathname(self._param("fromUrl"))
        if source is None:
            raise not_found()
        return source, self.state.store.copy(source, destination, self._write_options())

    def _api_head(self) -> None:
        pathname = self._target_pathname(self._param("url"))
        record = self.state.store.get(pathname) if pathname else None
        if record is None:
            raise not_found()
        result = self._put_result(record)
        result.update(size=record.size, uploadedAt=record.uploaded_at, cacheControl=self._cache_control(record))
        self._send_json(200, result)

    def _api_list(self) -> None:
        raw_limit = self._param("limit", required=False)
        try:
            limit = MAX_LIST_LIMIT if raw_limit is None else int(raw_limit)
        except ValueError:
            raise bad_request("limit must be a number.") from None
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise bad_request(f"limit must be between 1 and {MAX_LIST_LIMIT}.")
        mode = self._param("mode", required=False) or "expanded"
        if mode not in ("expanded", "folded"):
            raise bad_request('mode must be "expanded" or "folded".')
        prefix = self._param("prefix", required=False) or ""
        blobs, folders, cursor = self.state.store.list(
            prefix=prefix, limit=limit, cursor=self._param("cursor", required=False) or None, folded=mode == "folded"
        )
        payload: dict = {
            "blobs": [
                {
                    "url": self._blob_url(record.pathname),
                    "downloadUrl": f"{self._blob_url(record.pathname)}?download=1",
                    "pathname": record.pathname,
                    "size": record.size,
                    "uploadedAt": record.uploaded_at,
                    "etag": record.etag,
                }
                for record in blobs
            ],
            "hasMore": cursor is not None,
        }
        if cursor is not None:
            payload["cursor"] = cursor
        if mode == "folded":
            payload["folders"] = folders
        self._send_json(200, payload)

    def _api_delete(self) -> None:
        body = self._json_body()
        urls = body.get("urls") if isinstance(body, dict) else None
        if not isinstance(urls, list) or not all(isinstance(url, str) and url for url in urls):
            raise bad_request('The body must be {"urls": [<url or pathname>, ...]}.')
        if not 1 <= len(urls) <= 1000:
            raise bad_request("Between 1 and 1000 urls can be deleted at once.")
        if_match = self.headers.get("x-if-match") or None
        if if_match is not None and len(urls) != 1:
            raise bad_request("x-if-match can only be used when deleting a single blob.")
        pathnames = [pathname for pathname in map(self._target_pathname, urls) if pathname is not None]
        if if_match is not None and not pathnames:
            raise BlobApiError(412, "precondition_failed", "Precondition failed: ETag mismatch.")
        self.state.store.delete(pathnames, if_match=if_match)
        self._send_json(200, {})

    def _api_signed_token(self) -> None:
        """issueSignedToken: a delegation for presigned URLs (§7.10), signed with this store's token."""
        body = self._json_body()
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object.")
        self._send_json(200, issue_signed_token(body, rw_token=self.state.token, store_id=self.state.store_id))

    def _api_mpu_create(self) -> None:
        self._check_access()
        pathname = check_pathname(self._param("pathname"))
        self._check_client_upload(pathname, size=None)
        upload = self.state.store.mpu_create(pathname, self._write_options())
        self._send_json(200, {"uploadId": upload.upload_id, "key": upload.key})

    def _mpu_ids(self) -> tuple[str, str]:
        upload_id = self.headers.get("x-mpu-upload-id")
        key = self.headers.get("x-mpu-key")
        if not upload_id or not key:
            raise bad_request("Missing x-mpu-upload-id or x-mpu-key header.")
        return upload_id, unquote(key)

    def _api_mpu_upload(self) -> None:
        if self._client is not None:
            self._client.check_pathname(self._param("pathname"))
            self._client.check_size(self._declared_length())
        upload_id, key = self._mpu_ids()
        try:
            number = int(self.headers.get("x-mpu-part-number") or "")
        except ValueError:
            raise bad_request("Missing or invalid x-mpu-part-number header.") from None
        if not 1 <= number <= MAX_PARTS:
            raise bad_request(f"x-mpu-part-number must be between 1 and {MAX_PARTS}.")
        if not self._has_length():
            raise bad_request("Missing [x]-content-length header.")
        incoming = self.state.store.receive(self._body())
        if incoming.size == 0:
            self.state.store.discard(incoming)
            raise bad_request("A part must not be empty.")
        etag = self.state.store.mpu_part(upload_id, key, number, incoming)
        self._send_json(200, {"etag": etag})

    def _api_mpu_complete(self) -> None:
        if self._client is not None:
            self._client.check_pathname(self._param("pathname"))
        upload_id, key = self._mpu_ids()
        body = self._json_body()
        if not isinstance(body, list):
            raise bad_request('The body must be a list of {"etag", "partNumber"}.')
        parts: list[tuple[int, str]] = []
        for item in body:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("partNumber"), int)
                or not isinstance(item.get("etag"), str)
            ):
                raise bad_request('Each part must be {"etag": <string>, "partNumber": <number>}.')
            parts.append((item["partNumber"], item["etag"]))
        record = self.state.store.mpu_complete(upload_id, key, parts, self._write_options())
        self._send_json(200, self._uploaded(record))

    # --- content ----------------------------------------------------------------------------

    def _content(self, pathname: str, *, blob_host: str | None) -> None:
        if self.command not in ("GET", "HEAD"):
            raise BlobApiError(405, "bad_request", "Method not allowed.", headers={"Allow": "GET, HEAD"})
        if blob_host is not None and blob_host != self.state.blob_host:
            raise not_found()
        if self.state.access == "private":
            self._authorize()
        record = self.state.store.get(pathname) if pathname else None
        if record is None:
            raise not_found()
        headers = {
            "Content-Type": record.content_type,
            "ETag": record.etag,
            "Last-Modified": format_datetime(record.uploaded_datetime, usegmt=True),
            "Cache-Control": self._cache_control(record),
            "Accept-Ranges": "bytes",
            "Content-Disposition": content_disposition(record.pathname, attachment=self._attachment(record)),
        }
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match and record.etag in [tag.strip() for tag in if_none_match.split(",")]:
            self._send(304, {"ETag": record.etag, "Cache-Control": headers["Cache-Control"]})
            return
        start, length, status = 0, record.size, 200
        range_header = self.headers.get("Range")
        if range_header:
            byte_range = _parse_range(range_header, record.size)
            if byte_range is None:
                raise BlobApiError(
                    416, "bad_request", "Range not satisfiable.", headers={"Content-Range": f"bytes */{record.size}"}
                )
            start, end = byte_range
            length, status = end - start + 1, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{record.size}"
        with self.state.store.open_content(record) as content:
            self._send(status, headers, body=content, length=length, start=start)

    def _attachment(self, record: BlobRecord) -> bool:
        if self._query.get("download", [""])[0] == "1":
            return True
        media_type = record.content_type.split(";", 1)[0].strip().lower()
        return not (media_type in _INLINE_TYPES or media_type.startswith(_INLINE_PREFIXES))

    # --- control ----------------------------------------------------------------------------

    def _control(self, path: str) -> None:
        """Fault switching and counters for a server running in another process (token required)."""
        self._fault = None
        try:
            self._authorize()
            state = self.state
            if path == "/_emulator/stats" and self.command == "GET":
                with state.lock:
                    counts = dict(state.counts)
                self._send_json(200, {"counts": counts, "blobs": state.store.count(), "faults": state.faults.active()})
            elif path == "/_emulator/faults" and self.command == "POST":
                spec = self._json_body()
                try:
                    rule = state.faults.configure(spec if isinstance(spec, dict) else {})
                except (ValueError, KeyError, TypeError) as error:
                    raise bad_request(f"Invalid fault: {error}") from None
                self._send_json(200, rule.describe())
            elif path == "/_emulator/faults" and self.command == "DELETE":
                state.faults.clear()
                self._send_json(200, {})
            elif path == "/_emulator/refuse" and self.command == "POST":
                spec = self._json_body()
                seconds = spec.get("seconds") if isinstance(spec, dict) else None
                if not isinstance(seconds, int | float) or not 0 < seconds <= 60:
                    raise bad_request(
                        "seconds (0 < seconds <= 60) is required: the server cannot be told to stop refusing."
                    )
                self._send_json(200, {"refusing_for": seconds})
                threading.Thread(target=self.server.controller.refuse_connections, args=(seconds,), daemon=True).start()  # type: ignore[attr-defined]
            elif path == "/_emulator/reset" and self.command == "POST":
                self._drain()
                state.faults.clear()
                state.store.clear()
                state.reset_counts()
                self._send_json(200, {})
            else:
                raise BlobApiError(404, "not_found", "Unknown control route.")
        except BlobApiError as error:
            self._send_json(error.status, {"error": {"code": error.code, "message": error.message}})


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=` range, or None when it cannot be satisfied."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                return None
            return max(0, size - suffix), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)
