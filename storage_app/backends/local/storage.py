"""LocalStorage: Django's FileSystemStorage held to the storage contract every Instantory backend meets.

What it adds to FileSystemStorage:
- hostile names (`..` anywhere, NUL, control characters, absolute names, segments over 255 bytes)
  are refused with SuspiciousFileOperation before the disk is touched;
- `listdir()` of a folder that does not exist is empty, as on the object stores, not an error;
- disk failures become storage_app.exceptions with `backend` its alias: a full, read-only or failing
  disk is StorageServiceError (the fallback layer may use another backend), a permission problem
  StorageAccessDenied. A missing file stays the builtin FileNotFoundError;
- it is a StorageBackend (storage_app.backends.base): FileSystemStorage's options (location,
  base_url, file_permissions_mode, directory_permissions_mode, allow_overwrite) plus `alias`, with
  `location` defaulting to LOCAL_STORAGE_ROOT (MEDIA_ROOT when that is unset), and an unknown
  option refused;
- without an explicit `base_url`, `url()` is an expiring signed link to Instantory's own view
  (storage_app.backends.local.signing), so a file on the local disk is reachable with DEBUG off too.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage
from django.utils._os import safe_join
from django.utils.deconstruct import deconstructible
from storages.utils import setting

from storage_app.backends.base import StorageBackend
from storage_app.backends.local import signing
from storage_app.backends.names import check_save_arguments, clean_name
from storage_app.exceptions import StorageAccessDenied, StorageFileExists, StorageServiceError

T = TypeVar("T")

MAX_SEGMENT_BYTES = 255
MAX_NAME_LENGTH = 4096
_UNAVAILABLE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


def _translated(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(self: LocalStorage, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except (FileNotFoundError, SuspiciousFileOperation, ValueError):
            raise
        except FileExistsError as exc:
            raise StorageFileExists(f"local storage: {exc}", backend=self.alias) from exc
        except PermissionError as exc:
            raise StorageAccessDenied(f"local storage: permission denied ({exc.strerror})", backend=self.alias) from exc
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise SuspiciousFileOperation(f"File name is too long for the local disk: {exc.strerror}") from exc
            if exc.errno in _UNAVAILABLE_ERRNOS:
                raise StorageServiceError(
                    f"local storage: the disk failed ({exc.strerror})", backend=self.alias
                ) from exc
            raise

    return wrapper


@deconstructible(path="storage_app.backends.local.storage.LocalStorage")
class LocalStorage(StorageBackend, FileSystemStorage):
    default_alias = "local"

    def get_default_settings(self) -> dict[str, Any]:
        # None means what FileSystemStorage makes of it: MEDIA_ROOT, MEDIA_URL, FILE_UPLOAD_*_PERMISSIONS.
        return {
            **super().get_default_settings(),
            "location": setting("LOCAL_STORAGE_ROOT"),
            "base_url": None,
            "file_permissions_mode": None,
            "directory_permissions_mode": None,
            "allow_overwrite": False,
        }

    def _clean(self, name: str) -> str:
        return clean_name(name, max_length=MAX_NAME_LENGTH, max_segment_bytes=MAX_SEGMENT_BYTES)

    def save(self, name: str | None, content, max_length: int | None = None) -> str:
        check_save_arguments(name, content)
        return super().save(name, content, max_length=max_length)

    def path(self, name: str) -> str:
        return super().path(self._clean(name))

    def url(self, name: str) -> str:
        name = self._clean(name)
        if self._base_url is None:
            # No public base URL configured: nothing serves the folder, so link through the signed-URL view.
            return signing.signed_url(self.alias, name, settings.LOCAL_STORAGE_SIGNED_URL_TTL)
        return super().url(name)

    @_translated
    def _open(self, name: str, mode: str = "rb"):
        return super()._open(name, mode)

    @_translated
    def _save(self, name: str, content) -> str:
        return super()._save(name, content)

    @_translated
    def delete(self, name: str) -> None:
        super().delete(name)

    @_translated
    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        cleaned = clean_name(
            path or "", max_length=MAX_NAME_LENGTH, max_segment_bytes=MAX_SEGMENT_BYTES, allow_empty=True
        )
        directories: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(safe_join(self.location, cleaned)) as entries:
                for entry in entries:
                    (directories if entry.is_dir() else files).append(entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        return directories, files
