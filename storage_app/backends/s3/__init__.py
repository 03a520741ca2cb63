"""S3 (or any S3-compatible server) through django-storages, held to the storage layer's contract."""

from storage_app.backends.s3.storage import S3Storage

__all__ = ["S3Storage"]
