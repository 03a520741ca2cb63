"""Fixtures for the celery peer (filled by its issue)."""
