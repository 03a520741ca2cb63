"""manage.py storage_health: a table or JSON, and an exit code monitoring can act on."""

import json

import pytest
from django.core.management import call_command

from tests.storage_app.fallback_support import manage, manage_env, vercel_env


@pytest.fixture
def configured(db, settings, vercel_blob_settings, s3_settings):
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGES = dict(settings.STORAGES)
    return settings


def run(*args: str) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("storage_health", *args, stdout=out)
    except SystemExit as exit:
        return int(exit.code), out.getvalue()
    return 0, out.getvalue()


def test_healthy_prints_a_table_and_exits_0(configured):
    code, out = run()
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "storage: healthy (primary vercel)"
    assert lines[1].split()[:3] == ["vercel", "primary", "ok"]
    assert lines[2].split()[:3] == ["s3", "fallback", "ok"]
    assert lines[3].split()[:3] == ["local", "fallback", "ok"]
    assert "breaker closed" in lines[1]


def test_degraded_exits_1_and_json_has_the_documented_shape(configured, vercel_blob):
    vercel_blob.refuse_connections()
    code, out = run("--json")
    assert code == 1
    report = json.loads(out)
    assert set(report) == {"status", "primary", "checked_at", "probe_timeout", "backends"}
    assert report["status"] == "degraded"
    vercel = report["backends"][0]
    assert set(vercel) == {"name", "configured", "role", "status", "ok", "latency_ms", "error", "breaker", "reason"}
    assert (vercel["name"], vercel["ok"], vercel["status"]) == ("vercel", False, "failing")
    breaker_fields = {"state", "shared", "consecutive_failures", "fail_max", "reset_timeout", "retry_in"}
    assert set(vercel["breaker"]) == breaker_fields


@pytest.mark.django_db(transaction=True)
def test_unavailable_exits_2_from_a_real_process(settings, vercel_blob, s3_outage_peer):
    vercel_blob.refuse_connections()
    s3_outage_peer.server.stop()
    # local alone cannot be stopped, so it is pointed at a path under a regular file: writes fail there.
    blocker = settings.LOCAL_STORAGE_ROOT / "not-a-folder"
    blocker.write_bytes(b"")
    env = manage_env(
        settings,
        STORAGE_BACKEND="vercel",
        LOCAL_STORAGE_ROOT=str(blocker / "media"),
        **vercel_env(vercel_blob),
        **s3_outage_peer.env(),
    )
    result = manage(env, "storage_health", "--timeout", "5")
    assert result.returncode == 2, result.stderr
    assert result.stdout.startswith("storage: unavailable (primary vercel)")
    assert vercel_blob.token not in result.stdout + result.stderr


def test_timeout_option_bounds_a_hung_backend(db, settings, vercel_blob_settings, s3_outage_peer):
    for key, value in s3_outage_peer.settings().items():
        setattr(settings, key, value)
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = dict(settings.STORAGES)
    s3_outage_peer.server.pause()
    code, out = run("--json", "--timeout", "0.5")
    report = json.loads(out)
    assert code == 1
    assert report["probe_timeout"] == 0.5
    assert report["backends"][0]["status"] == "timeout"
