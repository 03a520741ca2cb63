"""Building FallbackStorage chains over the real peers (Vercel Blob server, nanio, local disk) in tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from storage_app.backends.local.storage import LocalStorage
from storage_app.backends.vercel_blob.storage import VercelBlobStorage
from storage_app.fallback import FallbackStorage
from tests.peers.vercel_blob import storage_options

ROOT = Path(__file__).resolve().parents[2]


def local_storage(root: Path) -> LocalStorage:
    return LocalStorage(location=root, base_url="/media/")


def vercel_storage(server, **overrides) -> VercelBlobStorage:
    return VercelBlobStorage(**storage_options(server, **overrides))


def chain(*, vercel=None, s3=None, local: Path | None = None, **options) -> FallbackStorage:
    """A FallbackStorage over the given peers, in the order vercel, s3, local (those given)."""
    backends = []
    if vercel is not None:
        backends.append(("vercel", vercel_storage(vercel)))
    if s3 is not None:
        backends.append(("s3", s3.storage()))
    if local is not None:
        backends.append(("local", local_storage(local)))
    return FallbackStorage(backends, **options)


def local_files(root: Path) -> list[str]:
    """Every file under a local store, as storage names."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def vercel_env(server) -> dict[str, str]:
    """Environment variables pointing a manage.py subprocess at the local Vercel Blob server."""
    return {
        "BLOB_READ_WRITE_TOKEN": server.token,
        "VERCEL_BLOB_API_URL": server.api_url,
        "VERCEL_BLOB_URL_BASE": server.url_base,
        "VERCEL_BLOB_ACCESS": server.access,
        "VERCEL_BLOB_RETRIES": "2",
        "VERCEL_BLOB_RETRY_BASE_DELAY": "0.01",
        "VERCEL_BLOB_RETRY_MAX_DELAY": "0.05",
        "VERCEL_BLOB_CONNECT_TIMEOUT": "2",
        "VERCEL_BLOB_READ_TIMEOUT": "10",
    }


def manage_env(settings, **extra: str) -> dict[str, str]:
    """Environment of a `manage.py` subprocess on this test's database and folders (test settings)."""
    from django.db import connection

    from tests.peers.celery import _database_url

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "DJANGO_SETTINGS", "INSTANTORY_RELOCATE", "AWS_", "VERCEL_BLOB"))
        and key not in {"BLOB_READ_WRITE_TOKEN", "STORAGE_BACKEND"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "instantory.settings_test",
            "INSTANTORY_TEST_DB": connection.settings_dict["NAME"],
            "LOCAL_STORAGE_ROOT": str(settings.LOCAL_STORAGE_ROOT),
            "TEMP_UPLOAD_ROOT": str(settings.TEMP_UPLOAD_ROOT),
            "LOG_LEVEL": "warning",
        }
    )
    if connection.settings_dict["ENGINE"] == "devtools.embedded_db":
        env["EMBEDDED_DB_NAME"] = connection.settings_dict["NAME"]
    else:
        env["DATABASE_URL"] = _database_url(connection.settings_dict)
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
