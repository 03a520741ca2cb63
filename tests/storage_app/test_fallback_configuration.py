"""The configured chain: its order from STORAGES["default"]["OPTIONS"], the STORAGES alias as each
backend's one name (records, breakers, errors, logs), and the reasons backends give for being left out."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from storage_app import fallback
from storage_app.exceptions import StorageConnectionError
from storage_app.fallback import DEFAULT_ORDER, FallbackStorage
from storage_app.models import StoredFile
from tests.storage_app.fallback_support import local_files, local_storage, vercel_storage

FALLBACK = "storage_app.fallback.FallbackStorage"
VERCEL = "storage_app.backends.vercel_blob.storage.VercelBlobStorage"
LOCAL = "storage_app.backends.local.storage.LocalStorage"
SHELF = "tests.storage_app.backends.shelf.ShelfStorage"


@pytest.fixture(autouse=True)
def fresh_warnings():
    fallback._warned.clear()
    yield
    fallback._warned.clear()


def configure(settings, backends: list[str] | None, **entries: dict) -> None:
    default = {"BACKEND": FALLBACK, **({"OPTIONS": {"backends": backends}} if backends is not None else {})}
    settings.STORAGES = {**settings.STORAGES, "default": default, **entries}


def aliases(storage: FallbackStorage) -> list[str]:
    return [backend.alias for backend in storage.backends]


# --- order ---------------------------------------------------------------------------------------


def test_the_order_comes_from_the_default_options(db, settings, vercel_blob_settings, s3_settings):
    settings.STORAGE_BACKEND = "s3"  # only the default order follows it
    configure(settings, ["local", "vercel"])
    storage = storages["default"]
    assert aliases(storage) == ["local", "vercel"]
    assert storage.left_out == {}  # s3 is configured, but not asked for
    name = storage.save("options-order.txt", ContentFile(b"x"))
    assert storage.backend_of(name) == "local"


def test_without_the_option_the_order_is_storage_backend_then_the_seed_order(
    db, settings, vercel_blob_settings, s3_settings
):
    settings.STORAGE_BACKEND = "local"
    configure(settings, None)
    assert DEFAULT_ORDER == ("vercel", "s3", "local")
    assert aliases(storages["default"]) == ["local", "vercel", "s3"]


def test_an_alias_without_a_storages_entry_in_the_option_is_refused(db, settings):
    configure(settings, ["local", "gcs"])
    with pytest.raises(ImproperlyConfigured, match="names 'gcs', which has no STORAGES entry"):
        storages["default"].backends  # noqa: B018


@pytest.mark.parametrize(
    ("backends", "message"),
    [
        ([], "backends is empty"),
        ("local", "not the string 'local'"),
        (["local", "local"], "names 'local' more than once"),
        (["default", "local"], "cannot name 'default'"),
        (["local", 3], "a list of STORAGES aliases, or of"),
    ],
)
def test_a_malformed_option_is_refused(backends, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        FallbackStorage(backends)


def test_a_fallback_storage_cannot_be_a_backend_of_another(db, settings):
    configure(settings, ["nested", "local"], nested={"BACKEND": FALLBACK})
    with pytest.raises(ImproperlyConfigured, match="is a FallbackStorage"):
        storages["default"].backends  # noqa: B018


# --- the alias is the one name -------------------------------------------------------------------


def test_the_storages_key_names_the_backend_in_records_breakers_errors_and_logs(
    db, settings, vercel_blob, vercel_blob_options, tmp_path, caplog
):
    configure(
        settings,
        ["blob_eu", "archive"],
        blob_eu={"BACKEND": VERCEL, "OPTIONS": {**vercel_blob_options, "retries": 0}},
        archive={"BACKEND": LOCAL, "OPTIONS": {"location": tmp_path / "archive"}},
    )
    storage = storages["default"]
    assert aliases(storage) == ["blob_eu", "archive"]
    assert [backend.storage.alias for backend in storage.backends] == ["blob_eu", "archive"]

    assert storage.backend_of(storage.save("up.txt", ContentFile(b"1"))) == "blob_eu"
    vercel_blob.refuse_connections()
    with caplog.at_level(logging.WARNING, logger="storage_app.fallback"):
        name = storage.save("down.txt", ContentFile(b"2"))
    assert sorted(StoredFile.objects.values_list("name", "backend")) == [("down.txt", "archive"), ("up.txt", "blob_eu")]
    assert local_files(tmp_path / "archive") == ["down.txt"]
    assert storage.breakers.get("blob_eu").snapshot().failures == 1
    assert any("blob_eu unavailable" in record.getMessage() for record in caplog.records)
    # The storage itself names its alias (not the chain filling it in).
    with pytest.raises(StorageConnectionError) as raised:
        storage.backend("blob_eu").storage.exists(name)
    assert raised.value.backend == "blob_eu"


def test_an_explicit_pair_must_agree_with_its_storages_alias(vercel_blob, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="whose alias is 'vercel': build it with alias='blob_eu'"):
        FallbackStorage([("blob_eu", vercel_storage(vercel_blob)), ("local", local_storage(tmp_path))])
    agreed = FallbackStorage([("blob_eu", vercel_storage(vercel_blob, alias="blob_eu"))])
    assert aliases(agreed) == ["blob_eu"]


# --- reasons come from the backends --------------------------------------------------------------


def test_a_backend_left_out_gives_its_own_reason(db, settings, caplog, tmp_path):
    settings.SHELF_ROOT = None
    configure(settings, ["shelf", "local"], shelf={"BACKEND": SHELF})
    with caplog.at_level(logging.WARNING, logger="storage_app.fallback"):
        storage = storages["default"]
        assert aliases(storage) == ["local"]
    assert storage.left_out == {"shelf": "no SHELF_ROOT"}
    assert [record.getMessage() for record in caplog.records] == [
        "storage backend shelf is left out of the fallback chain: no SHELF_ROOT"
    ]


def test_a_fourth_backend_is_its_module_plus_settings(db, settings, tmp_path):
    configure(settings, ["shelf", "local"], shelf={"BACKEND": SHELF, "OPTIONS": {"root": tmp_path / "shelf"}})
    storage = storages["default"]
    assert aliases(storage) == ["shelf", "local"]
    name = storage.save("docs/a.txt", ContentFile(b"on the shelf"))
    assert storage.backend_of(name) == "shelf"
    assert storage.url(name) == "/shelf/docs/a.txt"
    assert local_files(tmp_path / "shelf") == ["docs/a.txt"]


def test_an_unknown_option_leaves_the_backend_out_with_the_refusal(db, settings, tmp_path):
    configure(settings, ["archive", "local"], archive={"BACKEND": LOCAL, "OPTIONS": {"root": tmp_path}})
    storage = storages["default"]
    assert aliases(storage) == ["local"]
    assert storage.left_out["archive"].startswith(
        "cannot be loaded (ImproperlyConfigured: LocalStorage (STORAGES['archive']) does not take the option 'root'"
    )
