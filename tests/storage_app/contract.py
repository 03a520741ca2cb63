"""The storage contract: what every Instantory storage backend must do, as one reusable test class.

How to run it against a backend: in a `test_*.py` module, subclass `StorageContract` with a name
starting with `Test` and provide two fixtures (methods of the subclass or fixtures in scope):

    from tests.storage_app.contract import StorageContract

    class TestS3Contract(StorageContract):
        @pytest.fixture
        def storage(self, s3_bucket):              # empty, never overwrites (Django's default policy)
            return S3Storage(bucket_name=s3_bucket)

        @pytest.fixture
        def overwriting_storage(self, s3_bucket):  # the same backend, configured to replace a taken name
            return S3Storage(bucket_name=s3_bucket, file_overwrite=True)

Both fixtures must see the same, initially empty, store (the overwriting one is only used by
`test_overwriting_storage_replaces_content`). Class attributes a subclass may change, saying why:
`big_file_size` (64 MiB) and `max_streaming_memory_growth` (32 MiB: a backend that buffers whole
files fails here, as it should). Nothing here may be skipped: a backend that cannot pass is a bug.

The tests only use the Django Storage API, so they run unchanged against FallbackStorage too.
"""

from __future__ import annotations

import gc
import hashlib
import io
import os
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.utils import timezone

MiB = 1024 * 1024

NAMES = [
    pytest.param("plain.txt", id="plain"),
    pytest.param("with some spaces.txt", id="spaces"),
    pytest.param("ünïcödé/日本語 ファイル.txt", id="unicode"),
    pytest.param("a/b/c/deeply nested.bin", id="nested"),
    pytest.param("dots.in.the.name.tar.gz", id="dots"),
]

HOSTILE_NAMES = [
    pytest.param("../escape.txt", id="dotdot"),
    pytest.param("inside/../../escape.txt", id="dotdot-nested"),
    pytest.param("inside/..", id="dotdot-last"),
    pytest.param("nul\x00byte.txt", id="nul"),
    pytest.param("dir/nul\x00/x.txt", id="nul-dir"),
    pytest.param("/etc/passwd", id="absolute"),
    pytest.param("line\nbreak.txt", id="control"),
    pytest.param("x" * 10_000, id="10000-chars"),
]


class PeakRss:
    """The process's largest resident set size while the block runs, sampled every few milliseconds."""

    def __init__(self, interval: float = 0.005) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.baseline = 0
        self.peak = 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRss:
        gc.collect()
        self.baseline = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def write_random_file(path: Path, size: int, chunk: int = MiB) -> str:
    """Write `size` random bytes to `path` chunk by chunk; returns their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            data = os.urandom(min(chunk, left))
            out.write(data)
            digest.update(data)
            left -= len(data)
    return digest.hexdigest()


def read_all(storage, name: str) -> bytes:
    with storage.open(name, "rb") as handle:
        return handle.read()


def sha256_of_stored(storage, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with storage.open(name, "rb") as handle:
        for chunk in handle.chunks(MiB):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class StorageContract:
    big_file_size = 64 * MiB
    max_streaming_memory_growth = 32 * MiB

    # --- save, open, exists, delete ---------------------------------------------------------

    def test_save_returns_the_name_and_open_reads_the_content(self, storage):
        name = storage.save("docs/report.txt", ContentFile(b"quarterly numbers"))
        assert name == "docs/report.txt"
        assert read_all(storage, name) == b"quarterly numbers"

    def test_save_accepts_a_plain_file_object(self, storage):
        name = storage.save("plain/bytes.bin", io.BytesIO(b"\x00\x01\x02 binary"))
        assert read_all(storage, name) == b"\x00\x01\x02 binary"

    def test_text_content_is_stored_as_utf8(self, storage):
        name = storage.save("text/note.txt", ContentFile("prix: 12 € (ĉu ok?)"))
        assert read_all(storage, name) == "prix: 12 € (ĉu ok?)".encode()

    def test_exists_follows_save_and_delete(self, storage):
        assert storage.exists("cycle/item.txt") is False
        name = storage.save("cycle/item.txt", ContentFile(b"x"))
        assert storage.exists(name) is True
        storage.delete(name)
        assert storage.exists(name) is False
        with pytest.raises(FileNotFoundError):
            storage.open(name)

    def test_delete_of_a_missing_file_is_silent(self, storage):
        storage.delete("never/was.txt")
        assert storage.exists("never/was.txt") is False

    def test_missing_files_raise_file_not_found(self, storage):
        with pytest.raises(FileNotFoundError):
            storage.open("missing.txt")
        with pytest.raises(FileNotFoundError):
            storage.size("missing.txt")
        with pytest.raises(FileNotFoundError):
            storage.get_modified_time("missing.txt")

    def test_open_reads_in_parts_and_seeks(self, storage):
        name = storage.save("seek/abc.txt", ContentFile(b"0123456789" * 1000))
        with storage.open(name) as handle:
            assert handle.read(5) == b"01234"
            handle.seek(9995)
            assert handle.read() == b"56789"
            handle.seek(0)
            assert handle.read(3) == b"012"
            assert handle.size == 10_000

    # --- metadata ---------------------------------------------------------------------------

    def test_size(self, storage):
        name = storage.save("meta/size.bin", ContentFile(b"a" * 1234))
        assert storage.size(name) == 1234

    def test_modified_and_created_times_are_aware_and_recent(self, storage):
        before = timezone.now() - timedelta(minutes=2)
        name = storage.save("meta/time.txt", ContentFile(b"t"))
        after = timezone.now() + timedelta(minutes=2)
        for moment in (storage.get_modified_time(name), storage.get_created_time(name)):
            assert timezone.is_aware(moment)
            assert before <= moment <= after

    def test_url_is_percent_encoded_and_names_the_file(self, storage):
        name = storage.save("shop/my photo ü.jpg", ContentFile(b"jpeg"))
        url = storage.url(name)
        assert isinstance(url, str)
        assert " " not in url
        assert quote("shop/my photo ü.jpg") in url

    # --- listing ----------------------------------------------------------------------------

    def test_listdir_separates_folders_and_files(self, storage):
        for name in ("top.txt", "inv/a.jpg", "inv/b.jpg", "inv/2024/c.jpg", "inv/2025/d e.jpg", "docs/x.pdf"):
            storage.save(name, ContentFile(b"."))
        directories, files = storage.listdir("")
        assert sorted(directories) == ["docs", "inv"]
        assert sorted(files) == ["top.txt"]
        directories, files = storage.listdir("inv")
        assert sorted(directories) == ["2024", "2025"]
        assert sorted(files) == ["a.jpg", "b.jpg"]
        assert storage.listdir("inv/2025/") == ([], ["d e.jpg"])

    def test_listdir_of_a_missing_folder_is_empty(self, storage):
        assert storage.listdir("no/such/folder") == ([], [])

    # --- names ------------------------------------------------------------------------------

    @pytest.mark.parametrize("name", NAMES)
    def test_names_round_trip(self, storage, name):
        stored = storage.save(name, ContentFile(name.encode()))
        assert stored == name
        assert storage.exists(name)
        assert read_all(storage, name) == name.encode()
        folder, _, filename = name.rpartition("/")
        assert filename in storage.listdir(folder)[1]
        storage.delete(name)
        assert not storage.exists(name)

    @pytest.mark.parametrize("name", HOSTILE_NAMES)
    def test_hostile_names_are_refused_and_nothing_is_stored(self, storage, name):
        with pytest.raises((SuspiciousFileOperation, ValueError)):
            storage.save(name, ContentFile(b"evil"))
        for operation in (storage.open, storage.exists, storage.size, storage.delete, storage.url):
            with pytest.raises((SuspiciousFileOperation, ValueError)):
                operation(name)
        assert storage.listdir("") == ([], [])

    def test_wrong_types_are_refused_and_nothing_is_stored(self, storage):
        with pytest.raises(TypeError):
            storage.save(b"bytes-name.txt", ContentFile(b"x"))
        with pytest.raises(TypeError):
            storage.save("number.txt", 12345)
        with pytest.raises(TypeError):
            storage.exists(42)
        assert storage.listdir("") == ([], [])

    def test_collision_gets_a_new_name_and_keeps_both(self, storage):
        first = storage.save("same/name.txt", ContentFile(b"first"))
        second = storage.save("same/name.txt", ContentFile(b"second"))
        assert first == "same/name.txt"
        assert second != first
        assert second.startswith("same/name_")
        assert second.endswith(".txt")
        assert read_all(storage, first) == b"first"
        assert read_all(storage, second) == b"second"

    def test_collision_respects_max_length(self, storage):
        storage.save("ml/abcdefghij.txt", ContentFile(b"1"))
        second = storage.save("ml/abcdefghij.txt", ContentFile(b"2"), max_length=20)
        assert len(second) <= 20
        assert read_all(storage, second) == b"2"

    def test_overwriting_storage_replaces_content(self, storage, overwriting_storage):
        first = overwriting_storage.save("over/w.txt", ContentFile(b"old content"))
        second = overwriting_storage.save("over/w.txt", ContentFile(b"new"))
        assert first == second == "over/w.txt"
        assert read_all(storage, "over/w.txt") == b"new"
        assert storage.size("over/w.txt") == 3

    # --- sizes ------------------------------------------------------------------------------

    def test_empty_file(self, storage):
        name = storage.save("empty/zero.bin", ContentFile(b""))
        assert storage.exists(name)
        assert storage.size(name) == 0
        assert read_all(storage, name) == b""

    def test_big_file_streams_in_and_out_in_bounded_memory(self, storage, tmp_path):
        source = tmp_path / "big.bin"
        expected = write_random_file(source, self.big_file_size)
        # Warm up: imports, connection pools and thread pools are not what is being measured.
        storage.save("warmup/small.bin", ContentFile(b"w" * 1024))
        sha256_of_stored(storage, "warmup/small.bin")
        with source.open("rb") as handle, PeakRss() as memory:
            name = storage.save("big/file.bin", File(handle, name="file.bin"))
            digest, size = sha256_of_stored(storage, name)
        assert size == self.big_file_size
        assert digest == expected
        assert storage.size(name) == self.big_file_size
        assert memory.growth < self.max_streaming_memory_growth, (
            f"saving and reading {self.big_file_size // MiB} MiB grew the process by {memory.growth / MiB:.1f} MiB"
        )
