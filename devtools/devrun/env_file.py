"""The development .env of `make run`, written once and completed, never overwritten.

Each group of settings (the secret key, Vercel Blob, S3, the Celery broker) is added only when the
.env (or the environment) does not set its key variable already, so real credentials a developer put
there are used instead of the local servers. Run as `python -m devtools.devrun.env_file PATH`; the
ports of the local servers come from RUN_BLOB_PORT, RUN_S3_PORT and RUN_REDIS_PORT (Makefile).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

DEFAULT_PORTS = {"RUN_BLOB_PORT": 8301, "RUN_S3_PORT": 8302, "RUN_REDIS_PORT": 8303}
LOCAL_BUCKET = "instantory"


def read_keys(path: Path) -> set[str]:
    """Variable names an existing .env sets (comments and blank lines ignored)."""
    if not path.is_file():
        return set()
    keys = set()
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            keys.add(line.split("=", 1)[0].removeprefix("export ").strip())
    return keys


def port(name: str) -> int:
    return int(os.environ.get(name) or DEFAULT_PORTS[name])


def groups(redis_available: bool) -> list[tuple[str, str, dict[str, str]]]:
    """(key variable, comment, values) of every group make run can fill in."""
    blob, s3, redis = port("RUN_BLOB_PORT"), port("RUN_S3_PORT"), port("RUN_REDIS_PORT")
    result = [
        ("SECRET_KEY", "development settings", {"DEBUG": "1", "SECRET_KEY": secrets.token_urlsafe(50)}),
        (
            "STORAGE_BACKEND",
            "the primary store",
            {"STORAGE_BACKEND": "vercel"},
        ),
        (
            "BLOB_READ_WRITE_TOKEN",
            "the local Vercel Blob server (Procfile.dev: blob); replace with a real store's token and URLs",
            {
                # The local server accepts exactly this token; it protects nothing else.
                "BLOB_READ_WRITE_TOKEN": f"vercel_blob_rw_localdev_{secrets.token_hex(16)}",
                "VERCEL_BLOB_API_URL": f"http://127.0.0.1:{blob}/api/blob",
                "VERCEL_BLOB_URL_BASE": f"http://127.0.0.1:{blob}",
            },
        ),
        (
            "AWS_STORAGE_BUCKET_NAME",
            "the local S3 server, nanio (Procfile.dev: s3), its bucket created at start",
            {
                "AWS_STORAGE_BUCKET_NAME": LOCAL_BUCKET,
                "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3}",
                "AWS_ACCESS_KEY_ID": f"localdev-{secrets.token_hex(6)}",
                "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20),
            },
        ),
    ]
    if redis_available:
        result.append(
            (
                "CELERY_BROKER_URL",
                "the local Redis (Procfile.dev: redis) for the Celery worker and beat",
                {"CELERY_BROKER_URL": f"redis://127.0.0.1:{redis}/0"},
            )
        )
    return result


def complete(path: Path, redis_available: bool | None = None) -> list[str]:
    """Add the groups the .env and the environment lack; the names of the groups added."""
    if redis_available is None:
        redis_available = shutil.which("redis-server") is not None
    present = read_keys(path) | {name for name, value in os.environ.items() if value.strip()}
    added, lines = [], []
    for key, comment, values in groups(redis_available):
        if key in present:
            continue
        lines.append(f"# {comment} (written by make run)")
        lines.extend(f"{name}={value}" for name, value in values.items() if name not in present)
        added.append(key)
    if lines:
        existing = path.read_text() if path.is_file() else ""
        separator = "" if not existing or existing.endswith("\n") else "\n"
        path.write_text(existing + separator + "\n".join(lines) + "\n")
        path.chmod(0o600)  # it holds secrets
    return added


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else ".env")
    added = complete(path)
    if added:
        print(f"{path}: wrote {', '.join(added)} for the local servers (edit it to use real ones)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
