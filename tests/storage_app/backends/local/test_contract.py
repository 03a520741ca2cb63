"""LocalStorage against the storage contract."""

import pytest

from storage_app.backends.local.storage import LocalStorage
from tests.storage_app.contract import StorageContract


class TestLocalStorageContract(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path):
        return LocalStorage(location=tmp_path / "store", base_url="/media/")

    @pytest.fixture
    def overwriting_storage(self, tmp_path):
        return LocalStorage(location=tmp_path / "store", base_url="/media/", allow_overwrite=True)
