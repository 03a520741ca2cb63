"""Fixtures shared by the whole suite. Real peers (servers) live in tests/peers/."""

import pytest
from model_bakery import baker

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
