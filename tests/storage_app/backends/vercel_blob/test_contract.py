"""VercelBlobStorage against the storage contract, over HTTP to the local Vercel Blob server.

Both access modes run the whole contract: a private store serves reads with the token and
answers url() with a signed URL of Instantory's own view.
"""

import pytest

from storage_app.backends.vercel_blob.storage import VercelBlobStorage
from tests.storage_app.contract import StorageContract


class TestVercelBlobPublicContract(StorageContract):
    @pytest.fixture
    def storage(self, vercel_blob_storage):
        return vercel_blob_storage

    @pytest.fixture
    def overwriting_storage(self, vercel_blob_options):
        return VercelBlobStorage(**vercel_blob_options, allow_overwrite=True)

    def test_big_file_streams_in_and_out_in_bounded_memory(self, vercel_blob_options, tmp_path, vercel_blob):
        # The default threshold (512 MiB) would send 64 MiB as one PUT; the parts are proven here at 8 MiB.
        storage = VercelBlobStorage(**vercel_blob_options, multipart_threshold=8 * 1024**2, part_size=8 * 1024**2)
        super().test_big_file_streams_in_and_out_in_bounded_memory(storage, tmp_path)
        # 64 MiB is above the 8 MiB threshold: 8 parts of 8 MiB, never more than 4 at once.
        assert vercel_blob.request_count("mpu.upload") == 8
        assert 1 < vercel_blob.peak_in_flight("mpu.upload") <= storage.max_parts_in_flight == 4


class TestVercelBlobPrivateContract(StorageContract):
    @pytest.fixture
    def storage(self, vercel_blob_private_storage):
        return vercel_blob_private_storage

    @pytest.fixture
    def overwriting_storage(self, vercel_blob_private_options):
        return VercelBlobStorage(**vercel_blob_private_options, allow_overwrite=True)
