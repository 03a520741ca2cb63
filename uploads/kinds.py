"""The upload kinds: what the pipeline needs to know of each domain that receives files.

The pipeline (validation, temporary area, promotion, sweep, tracking) knows no domain model. Each
domain app registers its kind from its AppConfig.ready(): where its files live, which row owns them
and what a stored file does to that row. Everything the pipeline does with a domain row goes
through the kind's callables, inside the pipeline's own transactions:

- `create_target(owner=, title=, content_type=, size=)` makes the owning row when an upload arrives
  without one (a photo without an item creates an item named after the file);
- `attach(target, upload, stored_name, thumbnail)` runs in the promotion's commit, with the target
  row locked, and returns the names of files the row no longer refers to (deleted after commit);
- `stored_names()` lists every stored name the domain still refers to, for the sweep's orphan walk.

`target_field` is the upload_tracking foreign key to the owning row (the seed schema has one per
domain); the target model is that field's related model, so no domain module is imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model

from uploads.models import UploadKind, UploadTracking


@dataclass(frozen=True)
class UploadKindSpec:
    name: str  # an UploadKind value
    folder: str  # permanent names: <folder>/<owner id>/<upload id>/<file>
    # Content class checked from the bytes (uploads.validation.ALLOWED_TYPES); None: the caller's type.
    content_class: str | None = None
    target_field: str | None = None
    create_target: Callable[..., Model] | None = None
    attach: Callable[[Model, Any, str, str], list[str]] | None = None
    stored_names: Callable[[], Iterable[str]] | None = None
    thumbnail: bool = False

    @property
    def target_model(self) -> type[Model] | None:
        if self.target_field is None:
            return None
        return UploadTracking._meta.get_field(self.target_field).related_model

    def target_of(self, upload) -> int | None:
        return getattr(upload, f"{self.target_field}_id") if self.target_field else None


_registry: dict[str, UploadKindSpec] = {}


def register(spec: UploadKindSpec) -> UploadKindSpec:
    """Register (or re-register, as a test reload does) the kind `spec.name`."""
    if spec.name not in UploadKind.values:
        raise ValueError(f"{spec.name!r} is not an upload kind of upload_tracking ({', '.join(UploadKind.values)})")
    if spec.target_field is not None and (spec.create_target is None or spec.attach is None):
        raise ValueError(f"upload kind {spec.name!r} names a target but not how to create it or attach a file")
    _registry[spec.name] = spec
    return spec


def get(name: str) -> UploadKindSpec:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"upload kind {name!r} is not registered (is its app installed?)") from None


def registered() -> list[UploadKindSpec]:
    return list(_registry.values())


def by_target_field() -> dict[str, UploadKindSpec]:
    return {spec.target_field: spec for spec in _registry.values() if spec.target_field}


# storage_manager's files: any type, owned by a user, attached to no row (users/<owner>/<upload>/<file>).
FILE = register(UploadKindSpec(name=UploadKind.FILE, folder="users"))
