"""Reconcile and migrate: files come home to the primary, verified, and a crash at any step loses nothing."""

import hashlib
import signal
import threading

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection

from storage_app.fallback import FallbackStorage
from storage_app.health import storage_health
from storage_app.models import StoredFile
from storage_app.services import relocation
from storage_app.services.relocation import (
    RELOCATION_LOCK_KEY,
    RelocationBusy,
    TargetUnavailable,
    files_relocate,
    orphans_sweep,
    storage_migrate,
    storage_reconcile,
)
from storage_app.tasks import reconcile_storage_task
from tests.storage_app.fallback_support import (
    ROOT,
    chain,
    chain_env,
    configure_chain,
    local_files,
    manage,
    start_reconcile,
    vercel_env,
)


def content(index: int) -> bytes:
    return f"file {index}: ".encode() + hashlib.sha256(str(index).encode()).digest() * (index + 1)


def blobs(server) -> list[str]:
    found, _, _ = server.store.list(prefix="", limit=1000, cursor=None, folded=False)
    return sorted(blob.pathname for blob in found)


def rows() -> list[tuple]:
    return sorted(StoredFile.objects.values_list("name", "backend", "state", "moving_to", "leftover_on"))


def assert_all_home(server, names: list[str], s3_peer, local_root) -> None:
    """Every file on Vercel Blob exactly once, readable with its content; nothing left elsewhere."""
    assert rows() == [(name, "vercel", "stored", "", "") for name in sorted(names)]
    assert blobs(server) == sorted(names)
    assert s3_peer.keys() == []
    assert local_files(local_root) == []
    for name in names:
        index = int(name.split("-")[1].split(".")[0])
        with default_storage.open(name) as handle:
            assert handle.read() == content(index)


def one_file_on_s3(vercel_blob, s3_peer) -> tuple[FallbackStorage, str]:
    """A chain vercel → s3 holding one file saved on S3 while Vercel Blob was down, Vercel back up."""
    storage = chain(vercel=vercel_blob, s3=s3_peer)
    vercel_blob.refuse_connections()
    name = storage.save("docs/file-1.txt", ContentFile(content(1)))
    vercel_blob.accept_connections()
    return storage, name


@pytest.fixture
def configured(settings, vercel_blob_settings, s3_outage_peer):
    """The configured chain vercel → s3 → local, with breakers that do not open during set-up."""
    configure_chain(settings, s3_outage_peer, STORAGE_BREAKER_FAIL_MAX=1000)
    return settings


@pytest.mark.django_db
def test_vercel_down_then_s3_down_then_back_reconcile_moves_every_file_home(configured, vercel_blob, s3_outage_peer):
    vercel_blob.refuse_connections()
    names = [default_storage.save(f"docs/file-{i}.txt", ContentFile(content(i))) for i in range(4)]
    assert {default_storage.backend_of(name) for name in names} == {"s3"}
    assert storage_health().status == "degraded"
    s3_outage_peer.server.kill()
    names += [default_storage.save(f"docs/file-{i}.txt", ContentFile(content(i))) for i in range(4, 7)]
    assert {default_storage.backend_of(name) for name in names[4:]} == {"local"}
    with default_storage.open(names[5]) as handle:
        assert handle.read() == content(5)

    # Reconcile refuses while the primary is still down, and changes nothing.
    with pytest.raises(TargetUnavailable):
        storage_reconcile()
    assert {row[1] for row in rows()} == {"s3", "local"}

    vercel_blob.accept_connections()
    s3_outage_peer.server.restart()
    report = storage_reconcile()
    assert report.ok
    assert sorted(report.moved) == sorted(names)
    assert_all_home(vercel_blob, names, s3_outage_peer, configured.LOCAL_STORAGE_ROOT)
    assert storage_health().status == "healthy"
    # Nothing left to do: a second run moves nothing.
    assert storage_reconcile().moved == []


@pytest.mark.django_db
def test_a_copy_that_does_not_match_is_discarded_and_the_file_stays_where_it_was(db, vercel_blob, s3_peer, tmp_path):
    storage = chain(vercel=vercel_blob, s3=s3_peer)
    vercel_blob.refuse_connections()
    name = storage.save("docs/file-1.txt", ContentFile(content(1)))
    s3_peer.put(name, b"tampered on S3 behind the app's back")  # the record's checksum no longer matches
    vercel_blob.accept_connections()
    report = files_relocate(storage=storage, target="vercel")
    assert list(report.failed) == [name]
    assert "CopyMismatch" in report.failed[name]
    assert rows() == [(name, "s3", "stored", "", "")]
    assert blobs(vercel_blob) == []


@pytest.mark.django_db
def test_dry_run_changes_nothing(db, vercel_blob, s3_peer):
    storage, name = one_file_on_s3(vercel_blob, s3_peer)
    report = files_relocate(storage=storage, target="vercel", dry_run=True)
    assert report.moved == [name]
    assert rows() == [(name, "s3", "stored", "", "")]
    assert blobs(vercel_blob) == []


def hold_the_relocation_lock(other_run: psycopg.Connection) -> None:
    # Blocking, not try: a run killed by an earlier test may still hold it for a moment.
    other_run.execute("SET lock_timeout = '30s'")
    other_run.execute("SELECT pg_advisory_lock(%s)", [RELOCATION_LOCK_KEY])


@pytest.mark.django_db
def test_a_second_run_while_one_is_in_progress_moves_nothing(db, vercel_blob, s3_peer, monkeypatch):
    # Two runs at once are unsafe (the second would take the first's copy in progress for a crashed
    # one and delete it), so a run holds a PostgreSQL advisory lock; here another session holds it.
    storage, name = one_file_on_s3(vercel_blob, s3_peer)
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other_run:
        hold_the_relocation_lock(other_run)
        monkeypatch.setattr(relocation, "RELOCATION_LOCK_WAIT", 0.3)
        with pytest.raises(RelocationBusy, match="another reconcile_storage or migrate_storage run"):
            files_relocate(storage=storage, target="vercel")
        with pytest.raises(RelocationBusy):
            storage_migrate(storage=storage, source="s3", target="vercel")
        assert rows() == [(name, "s3", "stored", "", "")]
        assert blobs(vercel_blob) == []
        assert files_relocate(storage=storage, target="vercel", dry_run=True).moved == [name]  # reads need no lock
    report = files_relocate(storage=storage, target="vercel")
    assert report.moved == [name]
    assert rows() == [(name, "vercel", "stored", "", "")]


@pytest.mark.django_db
def test_a_lock_released_within_the_wait_lets_the_run_go_on(db, vercel_blob, s3_peer):
    # As when the previous run was killed and PostgreSQL has not yet ended its session.
    storage, name = one_file_on_s3(vercel_blob, s3_peer)
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other_run:
        hold_the_relocation_lock(other_run)
        releaser = threading.Timer(0.5, other_run.execute, ["SELECT pg_advisory_unlock(%s)", [RELOCATION_LOCK_KEY]])
        releaser.start()
        report = files_relocate(storage=storage, target="vercel")
        releaser.join()
    assert report.moved == [name]
    assert rows() == [(name, "vercel", "stored", "", "")]


@pytest.mark.django_db
def test_the_command_says_another_run_is_in_progress(configured, vercel_blob, s3_outage_peer, monkeypatch):
    stored_on_s3_while_vercel_is_down(vercel_blob, 1)
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other_run:
        hold_the_relocation_lock(other_run)
        monkeypatch.setattr(relocation, "RELOCATION_LOCK_WAIT", 0.3)
        with pytest.raises(CommandError, match="in progress; nothing was moved") as raised:
            call_command("reconcile_storage", "--no-progress")
        assert raised.value.returncode == 1
        assert reconcile_storage_task.apply().get()["status"] == "busy"
    assert {row[1] for row in rows()} == {"s3"}


@pytest.mark.django_db
def test_a_source_that_is_down_fails_only_its_files(db, vercel_blob, s3_outage_peer, tmp_path):
    storage = chain(vercel=vercel_blob, s3=s3_outage_peer, local=tmp_path / "local")
    vercel_blob.refuse_connections()
    on_s3 = storage.save("docs/file-1.txt", ContentFile(content(1)))
    s3_outage_peer.server.stop()
    on_local = storage.save("docs/file-2.txt", ContentFile(content(2)))
    vercel_blob.accept_connections()
    report = files_relocate(storage=storage, target="vercel")
    assert report.moved == [on_local]
    assert list(report.failed) == [on_s3]
    assert storage.backend_of(on_s3) == "s3"
    assert blobs(vercel_blob) == [on_local]  # the failed copy left nothing on the target


@pytest.mark.django_db
def test_deletes_deferred_by_an_outage_are_finished(db, vercel_blob, s3_outage_peer):
    storage = chain(vercel=vercel_blob, s3=s3_outage_peer)
    vercel_blob.refuse_connections()
    name = storage.save("docs/file-1.txt", ContentFile(content(1)))
    s3_outage_peer.server.stop()
    storage.delete(name)
    s3_outage_peer.server.restart()
    vercel_blob.accept_connections()
    report = files_relocate(storage=storage, target="vercel")
    assert report.deletes_finished == [name]
    assert rows() == []
    assert s3_outage_peer.keys() == []


@pytest.mark.django_db
def test_writes_abandoned_by_a_dead_process_are_cleared(db, vercel_blob, s3_peer, settings):
    settings.STORAGE_STALE_WRITE_AFTER = 60
    storage = chain(vercel=vercel_blob, s3=s3_peer)
    # What a process killed mid-write leaves: a reserved name and a (partial) object under it.
    s3_peer.put("docs/partial.bin", b"half a fi")
    StoredFile.objects.create(name="docs/partial.bin", backend="s3", state="writing")
    StoredFile.objects.filter(name="docs/partial.bin").update(updated_at="2020-01-01T00:00:00Z")
    StoredFile.objects.create(name="docs/in-flight.bin", backend="s3", state="writing")  # recent: left alone
    report = files_relocate(storage=storage, target="vercel")
    assert report.abandoned_writes_cleared == ["docs/partial.bin"]
    assert s3_peer.keys() == []
    assert [row[0] for row in rows()] == ["docs/in-flight.bin"]


@pytest.mark.django_db
def test_orphans_no_record_accounts_for_are_found_and_removed(db, vercel_blob, s3_peer, tmp_path):
    storage = chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")
    kept = storage.save("docs/kept.txt", ContentFile(b"recorded"))
    s3_peer.put("docs/orphan.txt", b"its transaction rolled back")
    s3_peer.put(kept, b"a stray second copy of a file that lives on vercel")
    assert orphans_sweep(storage=storage, grace=3600).removed == {}  # too recent
    report = orphans_sweep(storage=storage, grace=0, dry_run=True)
    assert sorted(report.removed["s3"]) == ["docs/kept.txt", "docs/orphan.txt"]
    assert len(s3_peer.keys()) == 2
    orphans_sweep(storage=storage, grace=0)
    assert s3_peer.keys() == []
    assert blobs(vercel_blob) == [kept]


@pytest.mark.django_db
def test_migrate_moves_every_file_between_two_backends(db, vercel_blob, s3_peer, tmp_path):
    storage = chain(s3=s3_peer, local=tmp_path / "local")
    names = [storage.save(f"docs/file-{i}.txt", ContentFile(content(i))) for i in range(3)]
    report = storage_migrate(source="s3", target="local", storage=storage)
    assert sorted(report.moved) == sorted(names)
    assert s3_peer.keys() == []
    assert local_files(tmp_path / "local") == sorted(names)
    assert {storage.backend_of(name) for name in names} == {"local"}
    with pytest.raises(ValueError, match="same backend"):
        storage_migrate(source="s3", target="s3", storage=storage)


@pytest.mark.django_db
def test_reconcile_task_runs_eagerly_and_reports(configured, vercel_blob, s3_outage_peer):
    vercel_blob.refuse_connections()
    name = default_storage.save("docs/file-3.txt", ContentFile(content(3)))
    assert reconcile_storage_task.delay().get()["status"] == "primary_unavailable"
    vercel_blob.accept_connections()
    result = reconcile_storage_task.delay().get()
    assert result["status"] == "done"
    assert result["moved"] == [name]


@pytest.mark.django_db(transaction=True)
def test_reconcile_task_through_a_real_worker(configured, vercel_blob, s3_outage_peer, celery_worker_process):
    vercel_blob.refuse_connections()
    names = [default_storage.save(f"docs/file-{i}.txt", ContentFile(content(i))) for i in range(3)]
    vercel_blob.accept_connections()
    celery_worker_process.env.update({**vercel_env(vercel_blob), **s3_outage_peer.env(), "STORAGE_BACKEND": "vercel"})
    celery_worker_process.start()
    reconcile_storage_task.delay()
    wait_until(lambda: StoredFile.objects.filter(backend="vercel").count() == 3, celery_worker_process.log)
    wait_until(lambda: not StoredFile.objects.exclude(leftover_on="").exists(), celery_worker_process.log)
    assert_all_home(vercel_blob, names, s3_outage_peer, configured.LOCAL_STORAGE_ROOT)


def wait_until(condition, log, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; worker log:\n{log()}")
        time.sleep(0.1)


# --- crash safety: a real `manage.py reconcile_storage` killed mid-way, then run again ------------


def stored_on_s3_while_vercel_is_down(vercel_blob, count: int) -> list[str]:
    vercel_blob.refuse_connections()
    names = [default_storage.save(f"docs/file-{i}.txt", ContentFile(content(i))) for i in range(count)]
    vercel_blob.accept_connections()
    assert {default_storage.backend_of(name) for name in names} == {"s3"}
    return names


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("step", ["after_copy", "after_switch"])
def test_killed_at_a_step_then_rerun_is_consistent_with_no_duplicates(configured, vercel_blob, s3_outage_peer, step):
    names = stored_on_s3_while_vercel_is_down(vercel_blob, 6)
    env = chain_env(
        configured,
        vercel_blob,
        s3_outage_peer,
        INSTANTORY_RELOCATE_CRASH_AT=step,
        INSTANTORY_RELOCATE_CRASH_AFTER="3",
    )
    killed = manage(env, "reconcile_storage", "--no-progress", "-v", "2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # Mid-way: every file is readable, the fourth is half-moved, nothing is lost.
    state = {name: (backend, moving, leftover) for name, backend, _, moving, leftover in rows()}
    assert sum(1 for backend, _, _ in state.values() if backend == "vercel") == 3 + (step == "after_switch")
    fourth = "docs/file-3.txt"
    assert state[fourth] == (("s3", "vercel", "") if step == "after_copy" else ("vercel", "", "s3"))
    assert fourth in blobs(vercel_blob)
    assert fourth in set(s3_outage_peer.keys())  # both copies exist at this moment
    for name in names:
        with default_storage.open(name) as handle:
            assert handle.read() == content(int(name.split("-")[1].split(".")[0]))

    rerun = manage(chain_env(configured, vercel_blob, s3_outage_peer), "reconcile_storage", "--no-progress")
    assert rerun.returncode == 0, rerun.stderr
    assert_all_home(vercel_blob, names, s3_outage_peer, configured.LOCAL_STORAGE_ROOT)


@pytest.mark.django_db(transaction=True)
def test_sigkill_from_outside_mid_run_then_rerun_is_consistent(configured, vercel_blob, s3_outage_peer):
    names = stored_on_s3_while_vercel_is_down(vercel_blob, 8)
    vercel_blob.faults.slow(0.05, routes="put")  # each copy takes a moment, so the kill lands mid-run
    env = chain_env(configured, vercel_blob, s3_outage_peer)
    proc = start_reconcile(env)
    moved_lines = 0
    for line in proc.stdout:
        moved_lines += line.startswith("moved: ")
        if moved_lines == 2:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert 2 <= StoredFile.objects.filter(backend="vercel").count() < len(names)
    vercel_blob.faults.clear()

    rerun = manage(env, "reconcile_storage", "--no-progress")
    assert rerun.returncode == 0, rerun.stderr
    assert "moved" in rerun.stdout
    assert_all_home(vercel_blob, names, s3_outage_peer, configured.LOCAL_STORAGE_ROOT)


def test_subprocess_helpers_point_at_the_repository():
    assert (ROOT / "manage.py").is_file()


@pytest.mark.django_db
def test_reconcile_command_in_process(configured, vercel_blob, s3_outage_peer, capsys):
    stored_on_s3_while_vercel_is_down(vercel_blob, 2)
    call_command("reconcile_storage", "--no-progress")
    assert {row[1] for row in rows()} == {"vercel"}
