"""The local filesystem: Django's FileSystemStorage held to the storage layer's contract."""

from storage_app.backends.local.storage import LocalStorage

__all__ = ["LocalStorage"]
