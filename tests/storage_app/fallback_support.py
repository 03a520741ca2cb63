"""Building FallbackStorage chains over the real peers (Vercel Blob server, nanio, local disk) in tests."""

from __future__ import annotations

from pathlib import Path

from storage_app.backends.local import LocalStorage
from storage_app.backends.vercel_blob import VercelBlobStorage
from storage_app.fallback import FallbackStorage
from tests.peers.vercel_blob import storage_options


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
