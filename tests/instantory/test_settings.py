"""Settings come from the environment, and a bad value stops start-up with one clear line."""

import json
import os
import subprocess

import pytest

from tests.processes import run_manage


def run_check(**env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env.update({"INSTANTORY_IGNORE_DOTENV": "1", "DEBUG": "1"})
    env.update(env_overrides)
    env = {k: v for k, v in env.items() if v is not None and v != "<unset>"}
    return run_manage("check", env=env)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("STORAGE_BACKEND", "ftp", "STORAGE_BACKEND='ftp' is not valid; allowed values: vercel, s3, local"),
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("UPLOAD_MAX_SIZE", "lots", "UPLOAD_MAX_SIZE='lots' is not a size"),
        ("UPLOAD_MAX_SIZE", "0", "UPLOAD_MAX_SIZE='0' is too small"),
        ("VERCEL_BLOB_API_URL", "ftp://x", "VERCEL_BLOB_API_URL must be a URL"),
        ("VERCEL_BLOB_ACCESS", "secret", "VERCEL_BLOB_ACCESS='secret' is not valid; allowed values: public, private"),
        ("DATABASE_URL", "mysql://u:hunter2@h/db", "DATABASE_URL must be a postgres:// or postgresql:// URL"),
        ("CELERY_BROKER_URL", "amqp://x", "CELERY_BROKER_URL must be a URL"),
        ("STORAGE_BREAKER_FAIL_MAX", "x", "STORAGE_BREAKER_FAIL_MAX='x' is not an integer"),
    ],
)
def test_invalid_value_stops_startup_with_one_line(name, value, expected):
    result = run_check(**{name: value})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("instantory: configuration error: ")
    assert expected in lines[0]
    assert "hunter2" not in result.stderr


def test_production_refuses_development_secret_key():
    result = run_check(DEBUG="0", SECRET_KEY="<unset>")
    assert result.returncode == 1
    assert "SECRET_KEY is not set" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_production_starts_with_a_real_secret_key():
    result = run_check(DEBUG="0", SECRET_KEY="a-real-production-secret-key-for-the-test-only")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_sizes_accept_units(monkeypatch):
    from instantory.env import env_size

    monkeypatch.setenv("X_SIZE", "2MiB")
    assert env_size("X_SIZE", 1) == 2 * 1024 * 1024
    monkeypatch.setenv("X_SIZE", "1.5GB")
    assert env_size("X_SIZE", 1) == 1_500_000_000
    monkeypatch.setenv("X_SIZE", "4096")
    assert env_size("X_SIZE", 1) == 4096
    monkeypatch.delenv("X_SIZE")
    assert env_size("X_SIZE", 7) == 7


def test_database_url_is_parsed_without_echoing_it(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from instantory.env import env_database_url

    monkeypatch.setenv("X_DB", "postgresql://app:s3cret@db.example:6543/inv")
    config = env_database_url("X_DB")
    assert config["NAME"] == "inv"
    assert config["HOST"] == "db.example"
    assert config["PORT"] == 6543
    monkeypatch.setenv("X_DB", "sqlite:///x.db")
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_database_url("X_DB")
    assert "sqlite" not in str(excinfo.value)


def test_vector_database_url_falls_back_to_neon(monkeypatch):
    from instantory.env import env_database_url

    monkeypatch.delenv("VECTOR_DATABASE_URL", raising=False)
    monkeypatch.setenv("NEON_DATABASE_URL", "postgres://u:p@neon.example/vec")
    assert env_database_url("VECTOR_DATABASE_URL", "NEON_DATABASE_URL")["NAME"] == "vec"


def test_tests_run_on_postgresql_with_pgvector(db):
    from django.db import connection

    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert cursor.fetchone() is not None
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'document_vectors' "
            "AND indexname = 'docvec_embedding_hnsw'"
        )
        (indexdef,) = cursor.fetchone()
    assert "USING hnsw" in indexdef
    assert "vector_cosine_ops" in indexdef


def shell_json(code: str, env: dict[str, str]) -> tuple[object, str]:
    """`manage.py shell -c code` with the settings of `env` alone: the last line it prints as JSON, and all it wrote."""
    result = run_manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stdout + result.stderr


def beat_schedule(**env_overrides: str) -> dict[str, list]:
    env = {**os.environ, "INSTANTORY_IGNORE_DOTENV": "1", "DEBUG": "1", **env_overrides}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps({k: [v['task'], v['schedule']] for k, v in settings.CELERY_BEAT_SCHEDULE.items()}))"
    )
    return shell_json(code, env)[0]


def test_beat_runs_the_sweep_and_reconcile_periodically():
    assert beat_schedule(
        STORAGE_RECONCILE_INTERVAL="120",
        UPLOAD_SWEEP_INTERVAL="60",
        UPLOAD_REQUEUE_AFTER="90",
        STORAGE_REPLICATION_INTERVAL="30",
        STORAGE_SCRUB_INTERVAL="3600",
    ) == {
        "sweep-uploads": ["uploads.sweep_uploads", 60.0],
        "requeue-uploads": ["uploads.requeue_uploads", 45.0],
        "replicate-missing": ["storage_app.replicate_missing", 30.0],
        "scrub-storage": ["storage_app.scrub_storage", 3600.0],
        "reconcile-storage": ["storage_app.reconcile_storage", 120.0],
    }
    off = beat_schedule(STORAGE_RECONCILE_INTERVAL="0", STORAGE_REPLICATION_INTERVAL="0", STORAGE_SCRUB_INTERVAL="0")
    assert set(off) == {"sweep-uploads", "requeue-uploads"}


def test_storage_variables_reach_the_backends_through_their_default_settings(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "VERCEL_BLOB", "DJANGO_SETTINGS")) and key != "BLOB_READ_WRITE_TOKEN"
    }
    env.update(
        {
            "INSTANTORY_IGNORE_DOTENV": "1",
            "DEBUG": "1",
            "STORAGE_BACKEND": "local",
            "VERCEL_BLOB_READ_WRITE_TOKEN": "vercel_blob_rw_envstore_s3cretpart",  # the alternative name
            "VERCEL_BLOB_API_URL": "http://127.0.0.1:9/api/blob",
            "VERCEL_BLOB_ACCESS": "private",
            "VERCEL_BLOB_PART_SIZE": "6MiB",
            "VERCEL_BLOB_RETRIES": "5",
            "VERCEL_BLOB_SIGNED_URL_TTL": "600",
            "AWS_STORAGE_BUCKET_NAME": "shop",
            "AWS_LOCATION": "/media/",
            "AWS_QUERYSTRING_EXPIRE": "60",
            "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_S3_REGION_NAME": "eu-west-1",
            "LOCAL_STORAGE_ROOT": str(tmp_path / "media"),
        }
    )
    code = (
        "import json; from storage_app.backends.base import storage_from_settings as built; "
        "from storage_app.fallback import default_fallback_storage; "
        "v, s, l = built('vercel'), built('s3'), built('local'); print(json.dumps({"
        "'vercel': [v.alias, v.store_id, v.api_url, v.access, v.part_size, v.retry.retries, v.signed_url_ttl], "
        "'s3': [s.alias, s.bucket_name, s.location, s.querystring_expire, s.endpoint_url, s.region_name], "
        "'local': [l.alias, l.location], 'chain': [b.alias for b in default_fallback_storage().backends]}))"
    )
    printed, output = shell_json(code, env)
    assert printed == {
        "vercel": ["vercel", "envstore", "http://127.0.0.1:9/api/blob", "private", 6 * 1024**2, 5, 600],
        "s3": ["s3", "shop", "media", 60, "http://127.0.0.1:9", "eu-west-1"],
        "local": ["local", str(tmp_path / "media")],
        "chain": ["local", "vercel", "s3"],
    }
    assert "s3cretpart" not in output
