"""manage.py migrate_storage as a real process: killed mid-way at each step and re-run, nothing is lost or doubled."""

import hashlib
import signal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from storage_app.models import StoredFile
from tests.storage_app.fallback_support import configure_primary, local_files, manage, manage_env


def content(index: int) -> bytes:
    return f"price list {index}\n".encode() * (index + 1)


@pytest.fixture
def on_s3(db, settings, s3_peer):
    """Four files stored while S3 was the primary (the provider being switched away from)."""
    configure_primary(settings, s3_peer, "s3")
    names = [default_storage.save(f"docs/file-{i}.txt", ContentFile(content(i))) for i in range(4)]
    assert {default_storage.backend_of(name) for name in names} == {"s3"}
    return names


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("step", ["after_copy", "after_switch"])
def test_killed_mid_way_then_rerun_moves_every_file_once(settings, s3_peer, on_s3, step):
    # Switching providers: STORAGE_BACKEND names the new one first, as the command asks.
    env = manage_env(settings, STORAGE_BACKEND="local", **s3_peer.env())
    killed = manage(
        {**env, "INSTANTORY_RELOCATE_CRASH_AT": step, "INSTANTORY_RELOCATE_CRASH_AFTER": "2"},
        "migrate_storage",
        "--from",
        "s3",
        "--to",
        "local",
        "--no-progress",
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    third = "docs/file-2.txt"
    record = StoredFile.objects.get(name=third)
    expected = ("s3", "local", "") if step == "after_copy" else ("local", "", "s3")
    assert (record.backend, record.moving_to, record.leftover_on) == expected
    # Both copies exist at this moment, and the record names both.
    assert third in set(s3_peer.keys())
    assert third in local_files(settings.LOCAL_STORAGE_ROOT)
    for index, name in enumerate(on_s3):
        with default_storage.open(name) as handle:
            assert handle.read() == content(index)

    rerun = manage(env, "migrate_storage", "--from", "s3", "--to", "local", "--no-progress")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert sorted(StoredFile.objects.values_list("name", "backend", "moving_to", "leftover_on")) == [
        (name, "local", "", "") for name in sorted(on_s3)
    ]
    assert s3_peer.keys() == []
    assert local_files(settings.LOCAL_STORAGE_ROOT) == sorted(on_s3)
    for index, name in enumerate(on_s3):
        on_disk = (settings.LOCAL_STORAGE_ROOT / name).read_bytes()
        assert on_disk == content(index)
        assert StoredFile.objects.get(name=name).checksum == hashlib.sha256(on_disk).hexdigest()
