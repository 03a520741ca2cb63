"""manage.py reconcile_storage and migrate_storage: progress, dry run, summary, JSON, exit codes."""

import json
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from storage_app.models import StoredFile


@pytest.fixture
def configured(db, settings, vercel_blob_settings, s3_peer):
    for key, value in s3_peer.settings().items():
        setattr(settings, key, value)
    settings.STORAGE_BACKEND = "vercel"
    settings.STORAGE_BREAKER_FAIL_MAX = 1000
    settings.STORAGES = dict(settings.STORAGES)
    return settings


@pytest.fixture
def on_s3(configured, vercel_blob):
    vercel_blob.refuse_connections()
    names = [default_storage.save(f"docs/{i}.txt", ContentFile(b"x" * i)) for i in range(3)]
    vercel_blob.accept_connections()
    return names


def run(command: str, *args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except SystemExit as exit:
        return int(exit.code), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_dry_run_lists_and_changes_nothing(on_s3):
    code, out, _ = run("reconcile_storage", "--dry-run", "--no-progress", "-v", "2")
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("would move: ")] == [
        f"would move: {name}" for name in on_s3
    ]
    assert "would move 3 of 3 file(s) to vercel" in out
    assert out.rstrip().endswith("(dry run)")
    assert set(StoredFile.objects.values_list("backend", flat=True)) == {"s3"}


def test_a_run_shows_progress_and_a_summary(on_s3):
    code, out, err = run("reconcile_storage")
    assert code == 0
    assert "3/3" in err  # tqdm's bar
    assert "moved 3 of 3 file(s) to vercel; 0 failed" in out
    assert set(StoredFile.objects.values_list("backend", flat=True)) == {"vercel"}


def test_json_report(on_s3):
    code, out, _ = run("reconcile_storage", "--json")
    report = json.loads(out)
    assert code == 0
    assert sorted(report["moved"]) == sorted(on_s3)
    assert report["failed"] == {}


def test_primary_down_is_a_clear_error_and_changes_nothing(on_s3, vercel_blob):
    vercel_blob.refuse_connections()
    with pytest.raises(CommandError, match="vercel failed its health probe"):
        call_command("reconcile_storage", "--no-progress")
    assert set(StoredFile.objects.values_list("backend", flat=True)) == {"s3"}


def test_a_failed_file_makes_exit_code_1(on_s3, s3_peer):
    s3_peer.put(on_s3[1], b"changed behind the app's back")
    code, out, err = run("reconcile_storage", "--no-progress")
    assert code == 1
    assert f"failed: {on_s3[1]}: CopyMismatch" in err
    assert "moved 2 of 3 file(s) to vercel; 1 failed" in out


def test_orphans_option(on_s3, s3_peer):
    s3_peer.put("docs/orphan.txt", b"nobody's")
    code, out, _ = run("reconcile_storage", "--no-progress", "--orphans", "--orphan-grace", "0")
    assert code == 0
    assert "orphans: removed 1 object(s)" in out
    assert s3_peer.keys() == []


def test_migrate_between_two_backends(configured, s3_peer):
    configured.STORAGE_BACKEND = "s3"
    configured.STORAGES = dict(configured.STORAGES)
    names = [default_storage.save(f"docs/{i}.txt", ContentFile(b"y")) for i in range(2)]
    code, out, err = run("migrate_storage", "--from", "s3", "--to", "local", "--no-progress")
    assert code == 0
    assert "s3 is still the primary" in err
    assert "moved 2 of 2 file(s) from s3 to local" in out
    assert {default_storage.backend_of(name) for name in names} == {"local"}
    assert s3_peer.keys() == []


def test_migrate_refuses_bad_arguments(configured):
    with pytest.raises(CommandError, match="same backend"):
        call_command("migrate_storage", "--from", "s3", "--to", "s3")
    with pytest.raises(CommandError, match="is not a configured backend"):
        call_command("migrate_storage", "--from", "ftp", "--to", "s3")


def test_migrate_to_an_unconfigured_backend_is_a_clear_error(db, settings):
    settings.AWS_STORAGE_BUCKET_NAME = None
    settings.STORAGES = dict(settings.STORAGES)
    with pytest.raises(CommandError, match="'s3' is not configured"):
        call_command("migrate_storage", "--from", "local", "--to", "s3")
