"""The storage contract, run against FallbackStorage: local alone, the three backends, and with the primary down.

The 64 MiB streaming test of each backend's own contract is not repeated at full size here: 16 MiB
(above every multipart threshold) shows FallbackStorage adds no buffering of its own.
"""

import pytest

from storage_app.fallback import FallbackStorage
from tests.storage_app.contract import StorageContract
from tests.storage_app.fallback_support import chain, local_storage

MiB = 1024 * 1024


class TestFallbackLocalOnlyContract(StorageContract):
    """The default test and development configuration: no token, no bucket, local disk alone."""

    big_file_size = 16 * MiB

    @pytest.fixture
    def storage(self, db, tmp_path):
        return FallbackStorage([("local", local_storage(tmp_path / "local"))])

    @pytest.fixture
    def overwriting_storage(self, db, tmp_path):
        return FallbackStorage([("local", local_storage(tmp_path / "local"))], allow_overwrite=True)


class TestFallbackThreeBackendsContract(StorageContract):
    """Vercel Blob, S3 and local all up: every file lands on Vercel Blob."""

    big_file_size = 16 * MiB

    @pytest.fixture
    def storage(self, db, vercel_blob, s3_peer, tmp_path):
        return chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")

    @pytest.fixture
    def overwriting_storage(self, db, vercel_blob, s3_peer, tmp_path):
        return chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local", allow_overwrite=True)


class TestFallbackPrimaryDownContract(StorageContract):
    """Vercel Blob refuses connections: the whole contract holds on S3, the first fallback."""

    big_file_size = 16 * MiB

    @pytest.fixture
    def storage(self, db, vercel_blob, s3_peer, tmp_path):
        vercel_blob.refuse_connections()
        return chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local")

    @pytest.fixture
    def overwriting_storage(self, db, vercel_blob, s3_peer, tmp_path):
        return chain(vercel=vercel_blob, s3=s3_peer, local=tmp_path / "local", allow_overwrite=True)
