"""make run's .env: written once, completed group by group, real credentials kept."""

from __future__ import annotations

import pytest

from devtools.devrun import env_file


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in (
        "SECRET_KEY",
        "STORAGE_BACKEND",
        "BLOB_READ_WRITE_TOKEN",
        "AWS_STORAGE_BUCKET_NAME",
        "CELERY_BROKER_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RUN_BLOB_PORT", "18301")


def values(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def test_a_new_env_points_at_every_local_server(tmp_path):
    path = tmp_path / ".env"
    added = env_file.complete(path, redis_available=True)
    assert added == [
        "SECRET_KEY",
        "STORAGE_BACKEND",
        "BLOB_READ_WRITE_TOKEN",
        "AWS_STORAGE_BUCKET_NAME",
        "CELERY_BROKER_URL",
    ]
    env = values(path)
    assert env["VERCEL_BLOB_API_URL"] == "http://127.0.0.1:18301/api/blob"
    assert env["BLOB_READ_WRITE_TOKEN"].startswith("vercel_blob_rw_localdev_")
    assert env["AWS_S3_ENDPOINT_URL"] == "http://127.0.0.1:8302"
    assert path.stat().st_mode & 0o077 == 0  # secrets: the owner's only
    before = path.read_text()
    assert env_file.complete(path, redis_available=True) == []  # written once
    assert path.read_text() == before


def test_real_credentials_in_env_are_kept_and_nothing_local_replaces_them(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "SECRET_KEY=mine\nBLOB_READ_WRITE_TOKEN=vercel_blob_rw_real_abc\nVERCEL_BLOB_API_URL=https://vercel.com/api/blob\n"
    )
    added = env_file.complete(path, redis_available=False)
    assert added == ["STORAGE_BACKEND", "AWS_STORAGE_BUCKET_NAME"]  # no redis-server: no broker either
    env = values(path)
    assert env["BLOB_READ_WRITE_TOKEN"] == "vercel_blob_rw_real_abc"
    assert env["VERCEL_BLOB_API_URL"] == "https://vercel.com/api/blob"
    assert "CELERY_BROKER_URL" not in env
    assert list(env).count("SECRET_KEY") == 1
