"""Fixtures shared by the whole suite. Real peers (servers) live in tests/peers/."""

import pytest
from model_bakery import baker
from rest_framework.test import APIClient

pytest_plugins = ["tests.peers.vercel_blob", "tests.peers.s3", "tests.peers.celery"]


@pytest.fixture
def user(db):
    return baker.make("auth.User", username="alice")


@pytest.fixture
def other_user(db):
    return baker.make("auth.User", username="bob")


@pytest.fixture
def staff_user(db, django_user_model):
    return django_user_model.objects.create_superuser(username="staff", email="staff@example.com", password="pw")


def _api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(user) -> APIClient:
    """An API client authenticated as `user`."""
    return _api_client(user)


@pytest.fixture
def other_api(other_user) -> APIClient:
    """An API client authenticated as `other_user`, for checking that one user never sees another's rows."""
    return _api_client(other_user)


@pytest.fixture
def staff_client(client, staff_user):
    """A browser-like client logged in to the admin as a superuser."""
    client.force_login(staff_user)
    return client


@pytest.fixture(autouse=True)
def isolated_file_areas(settings, tmp_path):
    """Each test gets its own temporary area and local permanent store, so leftovers never leak between tests."""
    old_roots = {str(settings.LOCAL_STORAGE_ROOT): tmp_path / "media", str(settings.TEMP_UPLOAD_ROOT): tmp_path / "tmp"}
    for path in old_roots.values():
        path.mkdir()
    storages = {}
    for alias, config in settings.STORAGES.items():
        options = dict(config.get("OPTIONS", {}))
        if str(options.get("location")) in old_roots:
            options["location"] = old_roots[str(options["location"])]
        storages[alias] = {**config, "OPTIONS": options} if options else dict(config)
    settings.LOCAL_STORAGE_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TEMP_UPLOAD_ROOT = tmp_path / "tmp"
    settings.STORAGES = storages
    return tmp_path
