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


def configure_primary(settings, s3_peer, backend: str, **overrides) -> None:
    """Settings for the configured chain with `backend` as its primary and the S3 peer's bucket (a
    Vercel Blob backend wants the vercel_blob_settings fixture), `overrides` set as well."""
    for key, value in s3_peer.settings().items():
        setattr(settings, key, value)
    settings.STORAGE_BACKEND = backend
    for key, value in overrides.items():
        setattr(settings, key, value)
    settings.STORAGES = dict(settings.STORAGES)  # drops storages and breakers built from older settings


def configure_chain(settings, s3_peer, **overrides) -> None:
    """Settings for the configured chain vercel → s3 → local, as in production, health never cached."""
    configure_primary(settings, s3_peer, "vercel", STORAGE_HEALTH_CACHE_SECONDS=0, **overrides)


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


def chain_env(settings, vercel_server, s3_peer, **extra: str) -> dict[str, str]:
    """Environment of a `manage.py` subprocess on the chain vercel → s3 → local over the given peers."""
    return manage_env(settings, STORAGE_BACKEND="vercel", **vercel_env(vercel_server), **s3_peer.env(), **extra)


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def start_reconcile(env: dict[str, str]) -> subprocess.Popen:
    """A `manage.py reconcile_storage` process naming every file it moves ("moved: ..."), its output
    piped, for a test to kill mid-run."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "reconcile_storage", "--no-progress", "-v", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
