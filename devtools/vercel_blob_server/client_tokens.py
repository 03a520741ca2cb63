"""Client tokens and completion callbacks, as the Vercel Blob service handles them (protocol notes §10).

A client token is `vercel_blob_client_<storeId>_<base64(hexHMAC + "." + base64(payloadJson))>`, the
HMAC-SHA256 of the base64 payload keyed with the store's read-write token
(`generateClientTokenFromReadWriteToken`). What the payload does not allow is refused with the
messages the SDKs turn into their specific errors (§5.2): `Token expired`, a `"pathname"` that
`does not match the token payload`, a `contentType` that `is not allowed`, and `the file length
cannot be greater than` the maximum. After an upload the server POSTs the signed
`blob.upload-completed` callback to the payload's `onUploadCompleted.callbackUrl` (§10.4).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import mimetypes
import threading
import time
import urllib.request
from dataclasses import dataclass, field

from devtools.vercel_blob_server.store import BlobApiError, bad_request

logger = logging.getLogger("devtools.vercel_blob_server")

CLIENT_TOKEN_PREFIX = "vercel_blob_client_"  # noqa: S105 - a prefix, not a secret
FORBIDDEN = "Access denied, please provide a valid token for this resource."
# The routes a client token may be used on: uploads only (§3.2).
CLIENT_ROUTES = ("put", "mpu.create", "mpu.upload", "mpu.complete")
CALLBACK_TIMEOUT = 30.0


@dataclass(frozen=True)
class ClientToken:
    payload: dict

    @property
    def pathname(self) -> str:
        return str(self.payload.get("pathname") or "")

    @property
    def maximum_size(self) -> int | None:
        value = self.payload.get("maximumSizeInBytes")
        return int(value) if isinstance(value, int | float) else None

    def check_pathname(self, pathname: str) -> None:
        if pathname != self.pathname:
            raise bad_request(
                f'The "pathname" query parameter ({pathname}) does not match the token payload ({self.pathname})'
            )

    def check_content_type(self, content_type: str | None, pathname: str) -> None:
        allowed = self.payload.get("allowedContentTypes")
        if not allowed:
            return
        effective = (content_type or mimetypes.guess_type(pathname)[0] or "application/octet-stream").split(";")[0]
        effective = effective.strip().lower()
        for pattern in allowed:
            pattern = str(pattern).lower()
            if pattern == effective or (pattern.endswith("/*") and effective.startswith(pattern[:-1])):
                return
        raise bad_request(f"contentType {effective} is not allowed")

    def check_size(self, size: int | None) -> None:
        maximum = self.maximum_size
        if maximum is not None and size is not None and size > maximum:
            raise BlobApiError(400, "bad_request", f"the file length cannot be greater than {maximum} bytes")


def parse_client_token(token: str, *, rw_token: str, store_id: str, now: float | None = None) -> ClientToken:
    """The payload of a client token signed with `rw_token`; BlobApiError when forged or expired."""
    rest = token[len(CLIENT_TOKEN_PREFIX) :]
    token_store, _, encoded = rest.partition("_")
    try:
        signature, _, payload_b64 = base64.b64decode(encoded, validate=True).decode("ascii").partition(".")
        payload = json.loads(base64.b64decode(payload_b64, validate=True))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BlobApiError(403, "forbidden", FORBIDDEN) from None
    expected = hmac.new(rw_token.encode(), payload_b64.encode(), hashlib.sha256).hexdigest()
    if token_store.lower() != store_id.lower() or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise BlobApiError(403, "forbidden", FORBIDDEN)
    if not isinstance(payload, dict):
        raise BlobApiError(403, "forbidden", FORBIDDEN)
    valid_until = payload.get("validUntil")
    if not isinstance(valid_until, int | float) or valid_until < (time.time() if now is None else now) * 1000:
        raise BlobApiError(403, "forbidden", "Token expired")
    return ClientToken(payload)


def callback_body(blob: dict, token_payload) -> bytes:
    """Compact JSON whose key order survives a parse/stringify round trip, as handleUpload verifies it."""
    body = {"type": "blob.upload-completed", "payload": {"blob": blob, "tokenPayload": token_payload}}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def callback_signature(body: bytes, rw_token: str) -> str:
    return hmac.new(rw_token.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class CallbackLog:
    """What the server's callbacks got back: (url, HTTP status or error text), newest last."""

    results: list[tuple[str, int | str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: int = 0

    def add(self, url: str, result: int | str) -> None:
        with self.lock:
            self.results.append((url, result))
            self.pending -= 1

    def clear(self) -> None:
        with self.lock:
            self.results.clear()


def send_callback(token: ClientToken, blob: dict, *, rw_token: str, log: CallbackLog) -> None:
    """POST the signed completion callback in the background, as the service does after an upload."""
    completed = token.payload.get("onUploadCompleted")
    if not isinstance(completed, dict) or not completed.get("callbackUrl"):
        return
    url = str(completed["callbackUrl"])
    if not url.startswith(("http://", "https://")):
        return
    body = callback_body(blob, completed.get("tokenPayload"))
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        url,
        data=body,
        method="POST",
        headers={"content-type": "application/json", "x-vercel-signature": callback_signature(body, rw_token)},
    )
    with log.lock:
        log.pending += 1

    def post() -> None:
        try:
            with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT) as response:  # noqa: S310 - http(s) only
                log.add(url, response.status)
        except urllib.error.HTTPError as error:
            log.add(url, error.code)
        except Exception as error:  # the app is down: the callback is lost, as the sweep expects
            logger.warning("completion callback to %s failed: %s", url, error)
            log.add(url, f"{type(error).__name__}: {error}")

    threading.Thread(target=post, name="vercel-blob-callback", daemon=True).start()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_key(rw_token: str) -> bytes:
    """The store's signing secret for presigned URLs, derived from its read-write token."""
    return hmac.new(rw_token.encode(), b"vercel-blob-signing", hashlib.sha256).digest()


def issue_signed_token(options: dict, *, rw_token: str, store_id: str, now: float | None = None) -> dict:
    """`{delegationToken, clientSigningToken, validUntil}` for issueSignedToken (defaults: `*`, get, 1 h)."""
    now_ms = int((time.time() if now is None else now) * 1000)
    valid_until = options.get("validUntil")
    if not isinstance(valid_until, int) or valid_until <= now_ms:
        valid_until = now_ms + 3600 * 1000
    valid_until = min(valid_until, now_ms + 7 * 24 * 3600 * 1000)
    operations = options.get("operations") or ["get"]
    if not isinstance(operations, list) or not set(operations) <= {"get", "head", "put", "delete"}:
        raise bad_request('operations must be a list of "get", "head", "put", "delete".')
    delegation = {
        "storeId": store_id,
        "ownerId": store_id,
        "pathname": str(options.get("pathname") or "*"),
        "operations": list(dict.fromkeys(operations)),
        "validUntil": valid_until,
        "iat": now_ms,
    }
    for name in ("maximumSizeInBytes", "allowedContentTypes"):
        if options.get(name) is not None:
            delegation[name] = options[name]
    head = _b64url(json.dumps(delegation, separators=(",", ":")).encode())
    delegation_token = f"{head}.{_b64url(hmac.new(signing_key(rw_token), head.encode(), hashlib.sha256).digest())}"
    client_signing = _b64url(hmac.new(signing_key(rw_token), delegation_token.encode(), hashlib.sha256).digest())
    return {"delegationToken": delegation_token, "clientSigningToken": client_signing, "validUntil": valid_until}
