"""Fixtures for the s3 peer (filled by its issue)."""
