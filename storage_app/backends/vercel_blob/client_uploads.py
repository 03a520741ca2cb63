"""Client uploads (`@vercel/blob/client`'s `upload()`), the server side the SDK calls `handleUpload`.

No Python SDK has it, so it is written here exactly as @vercel/blob 2.8.0 does it
(docs/vercel-blob.md, "Direct uploads"; protocol notes §10):
- `generate_client_token` is `generateClientTokenFromReadWriteToken`: the options (pathname, allowed
  content types, maximum size, validity in ms, the completion callback) serialised as JSON, base64,
  signed with HMAC-SHA256 keyed with the read-write token, wrapped as
  `vercel_blob_client_<storeId>_<base64(hexSignature + "." + payloadB64)>`;
- `verify_callback` is how `handleUpload` checks a `blob.upload-completed` callback: the
  `x-vercel-signature` header is the hex HMAC-SHA256, keyed with the read-write token, of the body
  as `JSON.stringify(JSON.parse(body))` gives it (so the body must be compact JSON);
- `blob_url_to_pathname` reads a blob URL of the real form `https://<storeId>.<access>.blob.vercel-storage.com/<path>`
  (or of VERCEL_BLOB_URL_BASE) back to its pathname.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import unquote, urlsplit

CLIENT_TOKEN_PREFIX = "vercel_blob_client_"  # noqa: S105 - a prefix, not a secret
BLOB_HOST_SUFFIX = ".blob.vercel-storage.com"


class CallbackRejected(Exception):
    """A completion callback whose signature or body is not the service's."""


def generate_client_token(
    rw_token: str,
    *,
    pathname: str,
    valid_until_ms: int | None = None,
    allowed_content_types: list[str] | None = None,
    maximum_size_in_bytes: int | None = None,
    add_random_suffix: bool | None = None,
    allow_overwrite: bool | None = None,
    cache_control_max_age: int | None = None,
    callback_url: str | None = None,
    token_payload: str | None = None,
) -> str:
    """A client token as `generateClientTokenFromReadWriteToken` makes it (default validity 30 s)."""
    store_id = rw_token.split("_")[3]
    options: dict[str, Any] = {"pathname": pathname}
    if allowed_content_types is not None:
        options["allowedContentTypes"] = allowed_content_types
    if maximum_size_in_bytes is not None:
        options["maximumSizeInBytes"] = maximum_size_in_bytes
    if add_random_suffix is not None:
        options["addRandomSuffix"] = add_random_suffix
    if allow_overwrite is not None:
        options["allowOverwrite"] = allow_overwrite
    if cache_control_max_age is not None:
        options["cacheControlMaxAge"] = cache_control_max_age
    if callback_url is not None:
        options["onUploadCompleted"] = {"callbackUrl": callback_url, "tokenPayload": token_payload}
    options["validUntil"] = valid_until_ms if valid_until_ms is not None else int(time.time() * 1000) + 30_000
    payload_b64 = base64.b64encode(_js_stringify(options).encode()).decode()
    signature = hmac.new(rw_token.encode(), payload_b64.encode(), hashlib.sha256).hexdigest()
    return f"{CLIENT_TOKEN_PREFIX}{store_id}_" + base64.b64encode(f"{signature}.{payload_b64}".encode()).decode()


def client_token_payload(token: str) -> dict:
    """`getPayloadFromClientToken`: the options a client token carries (not verified)."""
    encoded = token.split("_")[4]
    return json.loads(base64.b64decode(base64.b64decode(encoded).decode().split(".")[1]))


def callback_signature(body: bytes, rw_token: str) -> str:
    return hmac.new(rw_token.encode(), body, hashlib.sha256).hexdigest()


def verify_callback(body: bytes, signature: str | None, rw_token: str) -> dict:
    """The parsed `blob.upload-completed` body, or CallbackRejected ("Invalid callback signature")."""
    try:
        parsed = json.loads(body)
    except ValueError:
        raise CallbackRejected("The callback body is not JSON.") from None
    if not signature:
        raise CallbackRejected("Missing callback signature")
    expected = callback_signature(_js_stringify(parsed).encode(), rw_token)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise CallbackRejected("Invalid callback signature")
    if not isinstance(parsed, dict) or parsed.get("type") != "blob.upload-completed":
        raise CallbackRejected("The callback is not a blob.upload-completed event.")
    payload = parsed.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("blob"), dict):
        raise CallbackRejected("The callback carries no blob.")
    return payload


def blob_url_to_pathname(url: str, *, store_id: str | None, url_base: str | None) -> str | None:
    """The pathname of a blob URL of this store (real form or VERCEL_BLOB_URL_BASE), None if foreign."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if store_id and host.endswith(BLOB_HOST_SUFFIX) and host.split(".")[0] == store_id.lower():
        return unquote(parts.path[1:]) or None
    if url_base:
        base = urlsplit(url_base)
        prefix = base.path.rstrip("/") + "/"
        if (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower()) and parts.path.startswith(prefix):
            return unquote(parts.path[len(prefix) :]) or None
    return None


def _js_stringify(value: Any) -> str:
    """JSON as JavaScript's JSON.stringify writes it: compact, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
