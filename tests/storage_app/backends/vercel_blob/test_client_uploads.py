"""Client tokens and callback signatures exactly as @vercel/blob 2.8.0 makes and checks them."""

from __future__ import annotations

import json

import pytest

from storage_app.backends.vercel_blob.client_uploads import (
    CallbackRejected,
    blob_url_to_pathname,
    callback_signature,
    client_token_payload,
    generate_client_token,
    verify_callback,
)

# The worked example of the protocol notes (§10.1), checked there against the SDK's own output.
RW = "vercel_blob_rw_abc123store_SECRETsecret"
EXPECTED = (
    "vercel_blob_client_abc123store_NTdlNjM0NDQ1M2NlYjFlNzI2ZjhjMWU4OTY5MGJiOTk5OTMzYzM1ZDIyYWQ0NGI2ZTE0MDI3OTAwYzYwOTMw"
    "Yi5leUp3WVhSb2JtRnRaU0k2SW1GMllYUmhjbk12WVM1d2JtY2lMQ0poYkd4dmQyVmtRMjl1ZEdWdWRGUjVjR1Z6SWpwYkltbHRZV2RsTHlvaVhT"
    "d2liV0Y0YVcxMWJWTnBlbVZKYmtKNWRHVnpJam94TURRNE5UYzJMQ0poWkdSU1lXNWtiMjFUZFdabWFYZ2lPblJ5ZFdVc0ltOXVWWEJzYjJGa1Ey"
    "OXRjR3hsZEdWa0lqcDdJbU5oYkd4aVlXTnJWWEpzSWpvaWFIUjBjSE02THk5aGNIQXVaWGhoYlhCc1pTOWhjR2t2ZFhCc2IyRmtJaXdpZEc5clpX"
    "NVFZWGxzYjJGa0lqb2llMXdpZFhObGNrbGtYQ0k2TVgwaWZTd2lkbUZzYVdSVmJuUnBiQ0k2TVRnd01EQXdNREF3TURBd01IMD0="
)


def test_the_token_is_the_sdks_byte_for_byte():
    token = generate_client_token(
        RW,
        pathname="avatars/a.png",
        allowed_content_types=["image/*"],
        maximum_size_in_bytes=1048576,
        add_random_suffix=True,
        callback_url="https://app.example/api/upload",
        token_payload='{"userId":1}',
        valid_until_ms=1800000000000,
    )
    assert token == EXPECTED
    assert client_token_payload(token)["onUploadCompleted"]["tokenPayload"] == '{"userId":1}'


def test_a_callback_is_accepted_only_with_the_stores_signature():
    body = json.dumps(
        {"type": "blob.upload-completed", "payload": {"blob": {"pathname": "a.png"}, "tokenPayload": "x"}},
        separators=(",", ":"),
    ).encode()
    assert verify_callback(body, callback_signature(body, RW), RW)["tokenPayload"] == "x"
    with pytest.raises(CallbackRejected, match="Invalid callback signature"):
        verify_callback(body, callback_signature(body, RW + "x"), RW)
    with pytest.raises(CallbackRejected, match="Missing"):
        verify_callback(body, None, RW)


def test_real_form_urls_map_back_to_their_pathname():
    real = "https://abc123store.public.blob.vercel-storage.com/inventory/1/k1/a%20b.png"
    assert blob_url_to_pathname(real, store_id="abc123store", url_base="http://127.0.0.1:9") == "inventory/1/k1/a b.png"
    assert (
        blob_url_to_pathname("http://127.0.0.1:9/x.png", store_id="abc123store", url_base="http://127.0.0.1:9")
        == "x.png"
    )
    other = "https://otherstore.public.blob.vercel-storage.com/x.png"
    assert blob_url_to_pathname(other, store_id="abc123store", url_base=None) is None
