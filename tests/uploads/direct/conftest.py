"""Direct uploads end to end: the app on a live server, the local Vercel Blob server, nanio, node."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from uploads.models import UploadTracking

ROOT = Path(__file__).resolve().parents[3]
JS_UPLOAD = Path(__file__).with_name("js_upload.mjs")
NODE_MODULES = ROOT / "node_modules" / "@vercel" / "blob"


def ensure_node_modules() -> None:
    """The official client from npm (package-lock.json), installed once per checkout."""
    if NODE_MODULES.exists():
        return
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: apt-get install -y nodejs npm")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, timeout=300)


@pytest.fixture
def direct_app(live_server, vercel_blob_settings, settings):
    """The app on a live server with the chain vercel → local; the Blob server's callbacks reach it."""
    ensure_node_modules()
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGES = dict(settings.STORAGES)
    return live_server


@pytest.fixture
def api_token(user) -> str:
    return Token.objects.create(user=user).key


def js_upload(
    server,
    *,
    pathname: str,
    file: Path,
    handle_upload_url: str,
    api_token: str | None,
    client_payload: dict | None = None,
    multipart: bool = False,
    content_type: str | None = None,
    timeout: float = 120,
) -> dict:
    """Run `upload()` of @vercel/blob/client in node, configured as an app configures it (environment)."""
    spec = {
        "pathname": pathname,
        "file": str(file),
        "large": file.stat().st_size > 32 * 1024 * 1024,
        "handleUploadUrl": handle_upload_url,
        "apiToken": api_token,
        "clientPayload": json.dumps(client_payload) if client_payload is not None else None,
        "multipart": multipart,
        "contentType": content_type,
    }
    env = {
        "PATH": "/usr/bin:/bin",
        "VERCEL_BLOB_API_URL": server.api_url,
        "VERCEL_BLOB_RETRIES": "0",
        "NODE_PATH": str(ROOT / "node_modules"),
    }
    done = subprocess.run(
        ["node", str(JS_UPLOAD), json.dumps(spec)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_for_status(upload_id: int, statuses=("complete", "error"), timeout: float = 60.0) -> UploadTracking:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = UploadTracking.objects.get(pk=upload_id)
        if row.status in statuses:
            return row
        time.sleep(0.05)
    raise AssertionError(f"upload {upload_id} stayed {row.status}")
