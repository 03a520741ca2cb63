"""Vercel Blob: the storage (storage), its HTTP client (client), streams (io), error mapping (errors),
signed URLs of a private store (signing) and the view that serves them (views, urls)."""

from storage_app.backends.vercel_blob.storage import VercelBlobStorage

__all__ = ["VercelBlobStorage"]
