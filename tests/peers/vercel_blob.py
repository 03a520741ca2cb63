"""Fixtures for the vercel_blob peer (filled by its issue)."""
