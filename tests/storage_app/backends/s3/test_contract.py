"""The storage contract, run against S3Storage on a real S3-compatible server (nanio, SigV4 checked)."""

import pytest

from tests.storage_app.contract import StorageContract


class TestS3StorageContract(StorageContract):
    @pytest.fixture
    def storage(self, s3_peer):
        return s3_peer.storage()

    @pytest.fixture
    def overwriting_storage(self, s3_peer):
        return s3_peer.storage(file_overwrite=True)


class TestS3StorageWithLocationContract(StorageContract):
    """The same contract under a key prefix (AWS_LOCATION), which names must never escape."""

    big_file_size = 9 * 1024 * 1024  # one multipart upload is enough here; the class above does 64 MiB

    @pytest.fixture
    def storage(self, s3_peer):
        return s3_peer.storage(location="media/files")

    @pytest.fixture
    def overwriting_storage(self, s3_peer):
        return s3_peer.storage(location="media/files", file_overwrite=True)
