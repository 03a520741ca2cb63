"""StorageBackend, the one base of the backends: options, alias, configuration check, URLs, secrets.

Each backend is tested on its real peer (the local Vercel Blob server, nanio, the disk).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import InvalidStorageError, storages

from storage_app.backends.base import StorageBackend, name_from_url, storage_from_settings
from storage_app.backends.local import LocalStorage
from storage_app.backends.s3 import S3Storage
from storage_app.backends.vercel_blob import VercelBlobStorage
from storage_app.exceptions import StorageAccessDenied, StorageConnectionError, StorageFileExists
from tests.peers.vercel_blob import PUBLIC_TOKEN
from tests.storage_app.backends.shelf import ShelfStorage
from tests.storage_app.fallback_support import local_storage, vercel_storage

VERCEL = "storage_app.backends.vercel_blob.storage.VercelBlobStorage"
S3 = "storage_app.backends.s3.storage.S3Storage"
LOCAL = "storage_app.backends.local.storage.LocalStorage"


# --- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("storage_class", "options", "named", "suggested"),
    [
        (VercelBlobStorage, {"tokn": PUBLIC_TOKEN}, "'tokn'", "'token'"),
        (S3Storage, {"bukcet_name": "shop"}, "'bukcet_name'", "'bucket_name'"),
        (LocalStorage, {"locaton": "/tmp/x"}, "'locaton'", "'location'"),
        (ShelfStorage, {"rot": "/tmp/x"}, "'rot'", "'root'"),
    ],
)
def test_an_unknown_option_is_refused_naming_it_and_its_likely_meaning(storage_class, options, named, suggested):
    with pytest.raises(ImproperlyConfigured) as refused:
        storage_class(**options)
    message = str(refused.value)
    default = storage_class.default_alias
    assert message.startswith(f"{storage_class.__name__} (STORAGES[{default!r}]) does not take the option {named}")
    assert f"did you mean {suggested}?" in message
    assert re.search(r"\(it takes: .*\balias\b", message)


def test_the_refusal_names_the_alias_every_unknown_option_and_no_value():
    with pytest.raises(ImproperlyConfigured) as refused:
        VercelBlobStorage(alias="blob_eu", colour="red", secret_token=PUBLIC_TOKEN)
    message = str(refused.value)
    assert "VercelBlobStorage (STORAGES['blob_eu']) does not take the options 'colour', 'secret_token'" in message
    assert PUBLIC_TOKEN not in message


def test_an_unknown_option_in_storages_is_refused_when_the_storage_is_built(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "archive": {"BACKEND": LOCAL, "OPTIONS": {"root": str(tmp_path)}}}
    with pytest.raises(ImproperlyConfigured, match=re.escape("LocalStorage (STORAGES['archive']) does not take")):
        storage_from_settings("archive")


def test_options_default_to_the_settings_and_keyword_options_win(settings, s3_settings, tmp_path):
    settings.AWS_LOCATION = "media"
    settings.AWS_QUERYSTRING_EXPIRE = 120
    settings.LOCAL_STORAGE_ROOT = tmp_path / "from-settings"
    s3 = S3Storage()
    assert (s3.bucket_name, s3.location, s3.endpoint_url) == (s3_settings.bucket, "media", s3_settings.server.endpoint)
    assert S3Storage(location="other", querystring_expire=60).location == "other"
    assert LocalStorage().location == str(tmp_path / "from-settings")
    assert LocalStorage(location=tmp_path / "given").location == str(tmp_path / "given")


def test_s3_keeps_django_storages_options_working(s3_peer):
    storage = s3_peer.storage(location="shop/files", querystring_expire=60, alias="cold")
    name = storage.save("price list.txt", ContentFile(b"prices"))
    assert s3_peer.keys() == ["shop/files/price list.txt"]
    url = storage.url(name)
    assert url.startswith(f"{s3_peer.server.endpoint}/{s3_peer.bucket}/shop/files/price%20list.txt?")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["60"]
    assert storage.file_overwrite is False  # Instantory's default over django-storages' own


# --- alias ---------------------------------------------------------------------------------------


def test_each_backend_has_its_conventional_alias_unless_given_one(tmp_path):
    assert VercelBlobStorage(token=PUBLIC_TOKEN).alias == "vercel"
    assert S3Storage(bucket_name="shop").alias == "s3"
    assert LocalStorage(location=tmp_path).alias == "local"
    assert LocalStorage(location=tmp_path, alias="archive").alias == "archive"
    with pytest.raises(ImproperlyConfigured, match="alias must be a non-empty string"):
        LocalStorage(location=tmp_path, alias="")


def test_a_storage_built_from_storages_is_named_by_its_key(settings, vercel_blob_options, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "blob_eu": {"BACKEND": VERCEL, "OPTIONS": vercel_blob_options},
        "archive": {"BACKEND": LOCAL, "OPTIONS": {"location": tmp_path}},
    }
    blob_eu = storage_from_settings("blob_eu")
    assert (blob_eu.alias, storage_from_settings("archive").alias) == ("blob_eu", "archive")
    assert storage_from_settings("blob_eu") is blob_eu  # built once
    # Django's own storages[alias] does not pass the alias: there it is the backend's conventional name.
    assert storages["blob_eu"].alias == "vercel"
    settings.STORAGES = dict(settings.STORAGES)
    assert storage_from_settings("blob_eu") is not blob_eu  # new settings, new instances
    with pytest.raises(InvalidStorageError):
        storage_from_settings("no_such_alias")


def test_options_naming_another_alias_than_the_key_are_refused(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "archive": {"BACKEND": LOCAL, "OPTIONS": {"location": tmp_path, "alias": "local"}},
    }
    with pytest.raises(ImproperlyConfigured, match="alias'] is 'local': a backend's alias is its STORAGES key"):
        storage_from_settings("archive")


def test_errors_name_the_alias_of_the_backend_that_raised_them(db, vercel_blob, s3_peer, tmp_path):
    blob = vercel_storage(vercel_blob, alias="blob_eu", retries=0)
    vercel_blob.faults.fail(403, "forbidden", routes="put")
    with pytest.raises(StorageAccessDenied) as refused:  # an HTTP answer (errors.error_from_response)
        blob.save("a.txt", ContentFile(b"a"))
    assert refused.value.backend == "blob_eu"
    vercel_blob.refuse_connections()
    with pytest.raises(StorageConnectionError) as unreachable:  # below HTTP (errors.error_from_exception)
        blob.exists("a.txt")
    assert unreachable.value.backend == "blob_eu"

    with pytest.raises(StorageAccessDenied) as denied:
        s3_peer.storage(secret_key="wrong", alias="cold").save("b.txt", ContentFile(b"b"))
    assert denied.value.backend == "cold"

    archive = LocalStorage(location=tmp_path / "disk", alias="archive")
    (tmp_path / "disk").mkdir()
    (tmp_path / "disk" / "blocker").write_bytes(b"a file where a folder should be")
    with pytest.raises(StorageFileExists) as exists:
        archive.save("blocker/c.txt", ContentFile(b"c"))
    assert exists.value.backend == "archive"


# --- configured ----------------------------------------------------------------------------------


def test_one_configuration_check_for_every_backend(settings, tmp_path):
    settings.BLOB_READ_WRITE_TOKEN = None
    settings.AWS_STORAGE_BUCKET_NAME = None
    settings.SHELF_ROOT = None
    checks = {
        storage.alias: (storage.is_configured(), storage.not_configured_reason)
        for storage in (VercelBlobStorage(), S3Storage(), LocalStorage(location=tmp_path), ShelfStorage())
    }
    assert checks == {
        "vercel": (False, "no BLOB_READ_WRITE_TOKEN"),
        "s3": (False, "no AWS_STORAGE_BUCKET_NAME"),
        "local": (True, ""),
        "shelf": (False, "no SHELF_ROOT"),
    }
    assert VercelBlobStorage(token=PUBLIC_TOKEN).is_configured() is True
    assert S3Storage(bucket_name="shop").is_configured() is True
    assert ShelfStorage(root=tmp_path).is_configured() is True


# --- URLs and secrets ----------------------------------------------------------------------------


def test_each_backend_reads_its_own_urls(vercel_blob_storage, s3_peer, tmp_path):
    s3 = s3_peer.storage(location="media")
    s3_url = s3.url("users/1/a b.txt")
    assert s3.name_from_url(s3_url) == "users/1/a b.txt"
    assert s3.name_from_url(f"s3://{s3_peer.bucket}/media/users/1/a.txt") == "users/1/a.txt"
    assert s3.name_from_url(f"s3://{s3_peer.bucket}/elsewhere/a.txt") is None  # outside the location
    assert s3.name_from_url("s3://another-bucket/media/a.txt") is None

    assert vercel_blob_storage.name_from_url(vercel_blob_storage.url("x/ü.txt")) == "x/ü.txt"
    assert vercel_blob_storage.name_from_url(s3_url) is None

    local = local_storage(tmp_path)
    assert local.name_from_url("/media/users/1/a%20b.txt?download=1") == "users/1/a b.txt"
    assert local.name_from_url("/static/a.txt") is None
    shelf = ShelfStorage(root=tmp_path)
    assert name_from_url(shelf, "/shelf/a.txt") == "a.txt"
    assert isinstance(shelf, StorageBackend)


def test_secrets_are_the_credentials_the_backend_holds(s3_peer, tmp_path):
    assert VercelBlobStorage(token=PUBLIC_TOKEN).secrets() == [PUBLIC_TOKEN, PUBLIC_TOKEN.rsplit("_", 1)[1]]
    assert set(s3_peer.storage().secrets()) == {s3_peer.storage().access_key, s3_peer.storage().secret_key}
    assert LocalStorage(location=tmp_path).secrets() == []
