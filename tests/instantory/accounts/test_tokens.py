"""API tokens: obtain with username + password, rotate, revoke; hashed and expiring (django-rest-knox)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.authtoken.models import Token as LegacyToken
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def account(django_user_model):
    return django_user_model.objects.create_user(username="carol", password=PASSWORD)


def obtain(client: APIClient, username: str = "carol", password: str = PASSWORD):
    return client.post("/api/auth/token/", {"username": username, "password": password}, format="json")


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_obtain_gives_a_working_token_stored_hashed_with_an_expiry(account):
    response = obtain(APIClient())
    assert response.status_code == 200, response.content
    key = response.json()["token"]
    assert with_token(key).get("/api/inventory/").status_code == 200
    stored = AuthToken.objects.get(user=account)
    assert key not in (stored.digest, stored.token_key)
    assert len(stored.digest) == 128
    assert stored.expiry > timezone.now() + timedelta(days=6)
    assert response.json()["expiry"]


@pytest.mark.parametrize(("username", "password"), [("carol", "wrong"), ("nobody", PASSWORD), ("carol", "")])
def test_wrong_credentials_answer_400_and_issue_nothing(account, username, password):
    response = obtain(APIClient(), username, password)
    assert response.status_code == 400
    assert "token" not in response.json()
    assert AuthToken.objects.count() == 0


def test_rotate_replaces_the_token(account):
    old = obtain(APIClient()).json()["token"]
    response = with_token(old).post("/api/auth/token/rotate/")
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != old
    assert with_token(old).get("/api/inventory/").status_code == 401
    assert with_token(new).get("/api/inventory/").status_code == 200
    assert AuthToken.objects.filter(user=account).count() == 1


def test_revoke_ends_this_token_only_or_all(account):
    first = obtain(APIClient()).json()["token"]
    second = obtain(APIClient()).json()["token"]
    assert with_token(first).post("/api/auth/token/revoke/").status_code == 204
    assert with_token(first).get("/api/inventory/").status_code == 401
    assert with_token(second).get("/api/inventory/").status_code == 200
    assert with_token(second).post("/api/auth/token/revoke/", {"all": True}, format="json").status_code == 204
    assert with_token(second).get("/api/inventory/").status_code == 401
    assert AuthToken.objects.count() == 0


def test_an_expired_token_answers_401(account):
    key = obtain(APIClient()).json()["token"]
    AuthToken.objects.filter(user=account).update(expiry=timezone.now() - timedelta(seconds=1))
    assert with_token(key).get("/api/inventory/").status_code == 401
    assert AuthToken.objects.count() == 0  # knox drops it


def test_rotate_and_revoke_need_a_signed_in_user():
    assert APIClient().post("/api/auth/token/rotate/").status_code == 401
    assert APIClient().post("/api/auth/token/revoke/").status_code == 401
    assert with_token("not-a-token").get("/api/inventory/").status_code == 401


def test_keys_issued_before_knox_still_work(account):
    legacy = LegacyToken.objects.create(user=account)
    assert with_token(legacy.key).get("/api/inventory/").status_code == 200


def test_the_token_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ("/api/auth/token/", "/api/auth/token/rotate/", "/api/auth/token/revoke/"):
        assert "post" in schema["paths"][path], path
