"""A fourth backend for the tests, written as a new one would be: one module plus its STORAGES entry.

Nothing in storage_app (fallback, health, breakers) or uploads (the URL resolution of
storage_manager) knows it: its alias, options, configuration check and URLs come from
StorageBackend.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import FileSystemStorage
from storages.utils import setting

from storage_app.backends.base import StorageBackend


class ShelfStorage(StorageBackend, FileSystemStorage):
    default_alias = "shelf"

    def get_default_settings(self) -> dict[str, Any]:
        return {**super().get_default_settings(), "root": setting("SHELF_ROOT"), "base_url": "/shelf/"}

    def configure(self, options: dict[str, Any]) -> None:
        self.root = options["root"]
        super().configure({"location": self.root, "base_url": options["base_url"]})

    @property
    def not_configured_reason(self) -> str:
        return "" if self.root else "no SHELF_ROOT"
