"""StorageBackend: what every Instantory storage backend shares, in the style of django-storages' BaseStorage.

- Options. `get_default_settings()` gives every option a backend takes with its default, read from
  Django settings the way django-storages does (`setting("AWS_LOCATION", "")`); keyword arguments,
  that is `STORAGES[alias]["OPTIONS"]`, override them. An option the backend does not take is
  refused with ImproperlyConfigured naming it. `configure(options)` then builds the storage from
  the resolved options; by default it hands them to the next class's `__init__` as keywords
  (django-storages' S3Storage, Django's FileSystemStorage).
- Identity. The `alias` option is the backend's STORAGES key, its one name: in the `backend` of the
  errors it raises, in location records, breakers, health reports and logs. `storage_from_settings(alias)`
  builds `STORAGES[alias]` with `alias=alias` (the fallback chain and the backends' own views use
  it). Django's `storages[alias]` builds `BACKEND(**OPTIONS)` and does not pass the alias, so there
  it is `default_alias`, the backend's conventional name, unless OPTIONS set it.
- Configuration. `is_configured()` says whether the backend can be used as configured, and
  `not_configured_reason` why not: settings' names, never their values (it is logged and shown by
  the health report).
- URLs. `name_from_url(url)` is the storage name of a URL this backend issued, or None: by default
  whatever follows the prefix of the backend's own `url()`.
- Secrets. `secrets()` are the credentials this backend holds, which no report may show.

A new backend is a package under storage_app/backends/ with a StorageBackend subclass, plus its
STORAGES entry (and, to put it in the fallback chain, its alias in STORAGES["default"]["OPTIONS"]["backends"]).
"""

from __future__ import annotations

import difflib
import threading
from typing import Any, ClassVar
from urllib.parse import quote, unquote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import InvalidStorageError, Storage
from django.core.files.utils import validate_file_name
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

URL_PROBE_NAME = "instantory-url-probe/x"


class StorageBackend:
    """Mixin of every Instantory backend; put it before the Django Storage class it completes."""

    #: The conventional STORAGES alias of this backend: its `alias` when none is given.
    default_alias: ClassVar[str] = ""
    #: Options accepted without a default (passed on only when given), e.g. django-storages' cloudfront_signer.
    extra_options: ClassVar[frozenset[str]] = frozenset()

    alias: str

    def __init__(self, **options: Any) -> None:
        resolved = self.resolve_options(options)
        alias = resolved.pop("alias")
        if not isinstance(alias, str) or not alias:
            raise ImproperlyConfigured(f"{type(self).__name__}: alias must be a non-empty string, not {alias!r}")
        self.alias = alias
        self.configure(resolved)

    # --- options -----------------------------------------------------------------------------------
    def get_default_settings(self) -> dict[str, Any]:
        """Every option with its default; subclasses extend `super().get_default_settings()`."""
        parent = getattr(super(), "get_default_settings", None)
        defaults = dict(parent()) if callable(parent) else {}
        defaults["alias"] = self.default_alias
        return defaults

    def resolve_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The defaults overridden by `options`; ImproperlyConfigured naming any option not taken."""
        defaults = self.get_default_settings()
        known = set(defaults) | set(self.extra_options)
        unknown = sorted(set(options) - known)
        if unknown:
            raise ImproperlyConfigured(_unknown_options_message(self, options, unknown, known))
        return {**defaults, **options}

    def configure(self, options: dict[str, Any]) -> None:
        """Build the storage from its resolved options (`alias` already set and removed)."""
        super().__init__(**options)  # type: ignore[call-arg]

    # --- saving ------------------------------------------------------------------------------------
    def save_reserved(self, name: str, content: Any, max_length: int | None = None) -> str:
        """Save under `name` with no free-name lookup first; the name the object got is returned.

        For a caller that has reserved the name itself (FallbackStorage's location records), where
        Storage.save's lookup (get_available_name: a HEAD on a remote store) would only repeat what
        the reservation settled. The backend still refuses to replace an object (Vercel Blob's
        x-allow-overwrite 0, the local exclusive create) and picks another name if one is there.
        Used alone, a backend's save() keeps its lookup.
        """
        if max_length and len(name) > max_length:
            return self.save(name, content, max_length=max_length)  # type: ignore[attr-defined]
        if not hasattr(content, "chunks"):
            content = File(content, name)
        validate_file_name(name, allow_relative_path=True)
        stored = self._save(name, content)  # type: ignore[attr-defined]
        validate_file_name(stored, allow_relative_path=True)
        return stored

    # --- configuration -----------------------------------------------------------------------------
    @property
    def not_configured_reason(self) -> str:
        """Why this backend cannot be used as configured, "" when it can. Names settings, never values."""
        return ""

    def is_configured(self) -> bool:
        """Whether the backend can be used as configured (no network call)."""
        return not self.not_configured_reason

    # --- URLs and secrets --------------------------------------------------------------------------
    def name_from_url(self, url: str) -> str | None:
        """The name (unquoted, unchecked) of a URL this backend's url() gave, or None if it is not one of them."""
        return name_after_url_prefix(self, url)

    def secrets(self) -> list[str]:
        """The credentials this backend holds: never to be shown in an error text or report."""
        return []


def _unknown_options_message(storage: StorageBackend, options: dict, unknown: list[str], known: set[str]) -> str:
    alias = options.get("alias") or storage.default_alias
    names = ", ".join(repr(name) for name in unknown)
    plural = "s" if len(unknown) > 1 else ""
    message = f"{type(storage).__name__} (STORAGES[{alias!r}]) does not take the option{plural} {names}"
    close = difflib.get_close_matches(unknown[0], known, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return f"{message} (it takes: {', '.join(sorted(known))})"


# --- helpers for storages that may or may not be StorageBackends -----------------------------------
def not_configured_reason(storage: Storage) -> str:
    """Why a storage is not usable as configured ("" when it is); a storage of another kind always is."""
    if isinstance(storage, StorageBackend) and not storage.is_configured():
        return storage.not_configured_reason or "not configured"
    return ""


def url_prefix(storage: Storage) -> str | None:
    """What the storage's URLs start with, from the URL of a made-up name (url() makes no request)."""
    try:
        sample = storage.url(URL_PROBE_NAME)
    except Exception:
        return None
    sample = sample.split("?", 1)[0]
    index = sample.rfind(quote(URL_PROBE_NAME))
    return sample[:index] if index > 0 else None


def name_after_url_prefix(storage: Storage, url: str) -> str | None:
    """The unquoted rest of `url` after the storage's URL prefix, or None when the URL does not start with it."""
    prefix = url_prefix(storage)
    bare = url.split("#", 1)[0].split("?", 1)[0]
    if prefix and bare.startswith(prefix):
        return unquote(bare[len(prefix) :])
    return None


def name_from_url(storage: Storage, url: str) -> str | None:
    """The storage's own reading of a URL (StorageBackend.name_from_url), or the prefix rule for any other storage."""
    if isinstance(storage, StorageBackend):
        return storage.name_from_url(url)
    return name_after_url_prefix(storage, url)


def storage_secrets(storage: Storage) -> list[str]:
    return [secret for secret in storage.secrets() if secret] if isinstance(storage, StorageBackend) else []


# --- the storages of STORAGES, by alias --------------------------------------------------------------
_built: dict[str, Storage] = {}
_built_lock = threading.RLock()  # a storage whose __init__ builds another one must not deadlock


def storage_from_settings(alias: str) -> Storage:
    """The storage of STORAGES[alias], built once per process (until STORAGES changes) with `alias=alias`.

    InvalidStorageError when there is no such entry; ImproperlyConfigured when OPTIONS give another alias.
    """
    with _built_lock:
        storage = _built.get(alias)
        if storage is None:
            storage = _built[alias] = _build(alias)
        return storage


def _build(alias: str) -> Storage:
    try:
        params = settings.STORAGES[alias]
    except KeyError:
        raise InvalidStorageError(f"Could not find config for '{alias}' in settings.STORAGES.") from None
    storage_class = import_string(params.get("BACKEND", "django.core.files.storage.FileSystemStorage"))
    options = dict(params.get("OPTIONS", {}))
    if isinstance(storage_class, type) and issubclass(storage_class, StorageBackend):
        given = options.setdefault("alias", alias)
        if given != alias:
            raise ImproperlyConfigured(
                f"STORAGES[{alias!r}]['OPTIONS']['alias'] is {given!r}: a backend's alias is its STORAGES key"
            )
    return storage_class(**options)


def forget_built_storages() -> None:
    with _built_lock:
        _built.clear()


@receiver(setting_changed)
def _forget_storages_on_new_settings(*, setting: str, **kwargs: Any) -> None:
    """As Django's storages handler does: new STORAGES (tests, override_settings) means new instances."""
    if setting == "STORAGES":
        forget_built_storages()
