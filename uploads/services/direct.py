"""Direct uploads: the client sends the file straight to Vercel Blob or S3; the server tracks and finishes it.

The server never sees the file's body. It hands out a target (a Vercel Blob client token, or S3
presigned URLs) for a new `upload_tracking` row in status `awaiting_upload`, and finishes that row
when the object is there: on the Vercel completion callback, on the client's S3 completion call,
or, when neither comes (a lost callback, a closed tab), from the sweep (`direct_sweep`). Finishing
is the post-store half of a server upload, run by the promotion task (`upload_finish`):
- the type is sniffed from the stored object's first bytes (a ranged read) and a refused file is
  deleted from the store at once, its row `error` with the reason;
- the object is then streamed once into the temporary area, which gives its size and SHA-256 and
  the local copy the full type check, the thumbnail and the text extraction read;
- a location record is written for the backend that holds it, and the status, the owning row and
  the location change in one transaction (promotion's commit), as for any upload.

Which target: the first backend of the chain whose breaker is closed (`direct_target`): Vercel
Blob, then S3; when only local storage is left, the client is told to POST /api/uploads/.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from storage_app import locations
from storage_app.backends.s3 import direct as s3_direct
from storage_app.backends.s3.storage import S3Storage
from storage_app.backends.vercel_blob.client_uploads import (
    CallbackRejected,
    generate_client_token,
    verify_callback,
)
from storage_app.backends.vercel_blob.storage import VercelBlobStorage
from storage_app.exceptions import StorageUnavailable
from storage_app.fallback import FallbackStorage
from uploads import kinds
from uploads.models import UploadStatus, UploadTracking
from uploads.services.promotion import PromotionResult, _commit, _store_thumbnail, upload_promote
from uploads.services.queue import enqueue_promotion
from uploads.services.temporary import CHUNK_SIZE, temporary_root
from uploads.validation import ALLOWED_TYPES, SNIFF_BYTES, UploadRejected, clean_filename, sniff_type

logger = logging.getLogger(__name__)

# `<folder>/<owner id>/<key>/<file>`: the key, chosen by the client, starts with a letter so the
# sweep's orphan walk (which reads `<folder>/<owner>/<upload id>/<file>`) never takes it for an upload id.
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{5,63}$")
# Types a client may declare for each content class; the content decides in the end.
_DECLARED_TYPES = {
    "image": ["image/*"],
    "document": sorted(ALLOWED_TYPES["document"] | {"text/x-markdown", "application/octet-stream"}),
}


class DirectUploadRefused(UploadRejected):
    """A direct-upload request refused: `code` says why, `status` the HTTP status to answer with."""

    def __init__(self, message: str, *, code: str, status: int = 400) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True)
class DirectTarget:
    backend: str  # vercel | s3 | server
    url: str


class DirectTargetMoved(Exception):
    """The backend asked for is not the one to upload to now (its breaker is open): use `target`."""

    def __init__(self, target: DirectTarget) -> None:
        super().__init__(f"direct uploads go to {target.backend} now")
        self.target = target


TARGET_URLS = {"vercel": "/api/uploads/direct/vercel", "s3": "/api/uploads/direct/s3", "server": "/api/uploads/"}


# --- where to upload ----------------------------------------------------------------------------
def direct_target(storage=None) -> DirectTarget:
    """The first backend with a closed breaker that takes direct uploads; `server` when none does."""
    storage = storage or default_storage
    backends = storage.backends if isinstance(storage, FallbackStorage) else []
    for backend in backends:
        if backend.breaker.is_open():
            continue
        if isinstance(backend.storage, VercelBlobStorage) and backend.storage.token:
            return DirectTarget(backend.alias, TARGET_URLS["vercel"])
        if isinstance(backend.storage, S3Storage):
            return DirectTarget(backend.alias, TARGET_URLS["s3"])
        break  # local storage: only the server can write it
    return DirectTarget("server", TARGET_URLS["server"])


def _backend_storage(alias: str, storage=None):
    storage = storage or default_storage
    if isinstance(storage, FallbackStorage):
        return storage.backend(alias).storage
    raise StorageUnavailable("direct uploads need the fallback storage chain", backend=alias)


def _require_target(kind_of_backend: str, storage=None) -> DirectTarget:
    target = direct_target(storage)
    wanted = {"vercel": VercelBlobStorage, "s3": S3Storage}[kind_of_backend]
    if target.backend == "server" or not isinstance(_backend_storage(target.backend, storage), wanted):
        raise DirectTargetMoved(target)
    return target


# --- what the client asks for -------------------------------------------------------------------
def _kind_and_target(owner, *, kind: object, target_ids: dict[str, object]):
    """The kind and the owned row a direct upload is for, checked as POST /api/uploads/ checks them."""
    owned = {spec.name: spec for spec in kinds.registered() if spec.target_field}
    if not isinstance(kind, str) or kind not in owned:
        raise DirectUploadRefused(f"kind must be one of {', '.join(sorted(owned))}, not {kind!r}.", code="invalid_kind")
    spec = owned[kind]
    given = {field: value for field, value in target_ids.items() if value is not None}
    if len(given) > 1:
        raise DirectUploadRefused("An upload is for one row at most.", code="invalid_target")
    target = None
    for field, value in given.items():
        label = (
            kinds.by_target_field()[field].target_model._meta.verbose_name
            if field in kinds.by_target_field()
            else field
        )
        if field != spec.target_field or not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise DirectUploadRefused(f"No such {label}.", code="invalid_target")
        target = spec.target_model.objects.filter(owner=owner, pk=value).first()
        if target is None:
            raise DirectUploadRefused(f"No such {label}.", code="invalid_target")
    return spec, target


def _client_payload(raw: object) -> dict:
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str) or len(raw) > 4096:
        raise DirectUploadRefused("clientPayload must be a JSON object as text.", code="invalid_payload")
    try:
        value = json.loads(raw)
    except ValueError:
        raise DirectUploadRefused("clientPayload is not valid JSON.", code="invalid_payload") from None
    if not isinstance(value, dict):
        raise DirectUploadRefused("clientPayload must be a JSON object.", code="invalid_payload")
    return value


def user_folder(owner, kind: str) -> str:
    return f"{kinds.get(kind).folder}/{owner.pk}/"


def _check_pathname(owner, spec: kinds.UploadKindSpec, pathname: object) -> tuple[str, str]:
    """`<folder>/<owner>/<key>/<file>` under the user's own folder; (pathname, cleaned file name)."""
    folder = user_folder(owner, spec.name)
    if not isinstance(pathname, str) or not pathname.startswith(folder):
        raise DirectUploadRefused(
            f"The pathname must be under your own folder {folder} ({folder}<key>/<file name>).",
            code="invalid_pathname",
            status=403,
        )
    rest = pathname[len(folder) :]
    key, slash, filename = rest.partition("/")
    if not slash or not _KEY.match(key) or not filename or "/" in filename:
        raise DirectUploadRefused(
            f"The pathname must be {folder}<key>/<file name>, the key 6-64 letters, digits, - or _, "
            "starting with a letter.",
            code="invalid_pathname",
        )
    name = clean_filename(filename)
    if name != filename:
        raise DirectUploadRefused(f"The file name must be {name!r} (a name safe everywhere).", code="invalid_filename")
    if UploadTracking.objects.filter(permanent_name=pathname).exists():
        raise DirectUploadRefused(
            "This pathname was already used; choose a new key.", code="pathname_taken", status=409
        )
    return pathname, name


def _valid_until():
    return timezone.now() + timedelta(seconds=settings.UPLOAD_DIRECT_TOKEN_TTL)


# --- Vercel Blob: handleUpload ------------------------------------------------------------------
def direct_vercel_token(*, owner, payload: object, callback_url: str, storage=None) -> str:
    """The `blob.generate-client-token` step: a new awaiting row and a client token for its pathname only."""
    target_info = _require_target("vercel", storage)
    if not isinstance(payload, dict):
        raise DirectUploadRefused("payload must be an object with pathname and clientPayload.", code="invalid_payload")
    client = _client_payload(payload.get("clientPayload"))
    spec, target = _kind_and_target(
        owner, kind=client.get("kind"), target_ids={field: client.get(field) for field in kinds.by_target_field()}
    )
    pathname, name = _check_pathname(owner, spec, payload.get("pathname"))
    valid_until = _valid_until()
    upload = UploadTracking.objects.create(
        owner=owner,
        original_filename=name,
        content_type="",
        size=0,
        checksum="",
        kind=spec.name,
        status=UploadStatus.AWAITING_UPLOAD,
        permanent_name=pathname,
        permanent_backend=target_info.backend,
        direct_valid_until=valid_until,
        **({spec.target_field: target} if spec.target_field and target is not None else {}),
    )
    vercel: VercelBlobStorage = _backend_storage(target_info.backend, storage)
    return generate_client_token(
        vercel.token,
        pathname=pathname,
        valid_until_ms=int(valid_until.timestamp() * 1000),
        allowed_content_types=_DECLARED_TYPES[spec.content_class],
        maximum_size_in_bytes=settings.UPLOAD_MAX_SIZE,
        add_random_suffix=False,
        allow_overwrite=False,
        callback_url=callback_url,
        token_payload=json.dumps({"upload": upload.pk}),
    )


def direct_vercel_completed(*, body: bytes, signature: str | None, storage=None) -> UploadTracking:
    """The `blob.upload-completed` callback: verified as handleUpload verifies it, then the row is finished.

    A forged callback (wrong signature), one for a pathname its row was not given, or a replay for a
    row no longer awaiting its object is refused and changes nothing.
    """
    tokens = [
        backend.storage.token
        for backend in (storage or default_storage).backends
        if isinstance(backend.storage, VercelBlobStorage) and backend.storage.token
    ]
    payload = None
    error = "no Vercel Blob store is configured"
    for token in tokens:
        try:
            payload = verify_callback(body, signature, token)
            break
        except CallbackRejected as exc:
            error = str(exc)
    if payload is None:
        raise DirectUploadRefused(error, code="invalid_callback", status=403)
    try:
        upload_id = json.loads(payload.get("tokenPayload") or "{}")["upload"]
    except (ValueError, KeyError, TypeError):
        raise DirectUploadRefused("The callback names no upload.", code="invalid_callback") from None
    pathname = payload["blob"].get("pathname")
    return _object_arrived(upload_id, pathname=pathname)


def _object_arrived(upload_id: object, *, pathname: object) -> UploadTracking:
    with transaction.atomic():
        upload = UploadTracking.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or upload.direct_valid_until is None or upload.permanent_name != pathname:
            raise DirectUploadRefused("No direct upload awaits this object.", code="invalid_callback", status=404)
        if upload.status != UploadStatus.AWAITING_UPLOAD:
            raise DirectUploadRefused(
                f"This upload is already {upload.status}: the callback was replayed.", code="replayed", status=409
            )
        upload.status = UploadStatus.PENDING
        upload.save(update_fields=["status", "updated_at"])
        transaction.on_commit(lambda: enqueue_promotion(upload.pk))
    return upload


# --- S3: presigned POST and multipart ------------------------------------------------------------
def direct_s3_start(
    *, owner, filename: str, size: int, content_type: str, kind: str, target_ids: dict, storage=None
) -> dict:
    """A new awaiting row and where to send its object: a presigned PUT, or presigned multipart parts."""
    target_info = _require_target("s3", storage)
    spec, target = _kind_and_target(owner, kind=kind, target_ids=target_ids)
    if not isinstance(size, int) or size <= 0:
        raise DirectUploadRefused("size must be the file's size in bytes.", code="empty_file")
    if size > settings.UPLOAD_MAX_SIZE:
        raise DirectUploadRefused(
            f"The file is {size} bytes; the largest accepted upload is {settings.UPLOAD_MAX_SIZE} bytes.",
            code="file_too_large",
            status=413,
        )
    declared = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    if not any(
        p == declared or (p.endswith("/*") and declared.startswith(p[:-1])) for p in _DECLARED_TYPES[spec.content_class]
    ):
        raise DirectUploadRefused(
            f"contentType {declared} is not allowed for a {spec.name}.", code="unsupported_type", status=415
        )
    name = clean_filename(filename or "")
    s3: S3Storage = _backend_storage(target_info.backend, storage)
    with transaction.atomic():
        upload = UploadTracking.objects.create(
            owner=owner,
            original_filename=name,
            content_type="",
            size=0,
            checksum="",
            kind=spec.name,
            status=UploadStatus.AWAITING_UPLOAD,
            permanent_backend=target_info.backend,
            direct_valid_until=_valid_until(),
            **({spec.target_field: target} if spec.target_field and target is not None else {}),
        )
        upload.permanent_name = f"{spec.folder}/{owner.pk}/{upload.pk}/{name}"
        expires = settings.UPLOAD_DIRECT_TOKEN_TTL
        answer: dict = {"upload": upload.pk, "backend": target_info.backend, "pathname": upload.permanent_name}
        if size <= settings.UPLOAD_DIRECT_S3_PUT_MAX:
            url = s3_direct.presigned_put(s3, upload.permanent_name, content_type=declared, expires_in=expires)
            answer["put"] = {"url": url, "headers": {"Content-Type": declared}}
        else:
            multipart = s3_direct.multipart_create(
                s3,
                upload.permanent_name,
                size=size,
                content_type=declared,
                part_size=settings.UPLOAD_DIRECT_S3_PART_SIZE,
                expires_in=expires,
            )
            upload.direct_upload_id = multipart.upload_id
            answer["multipart"] = {"part_size": multipart.part_size, "part_urls": multipart.part_urls}
        upload.save(update_fields=["permanent_name", "direct_upload_id", "updated_at"])
    return answer


def _awaiting_s3(owner, upload_id: object) -> UploadTracking:
    upload = UploadTracking.objects.filter(owner=owner, pk=upload_id, direct_valid_until__isnull=False).first()
    if upload is None:
        raise DirectUploadRefused("No such upload.", code="not_found", status=404)
    return upload


def direct_s3_complete(*, owner, upload_id: object, parts: object = None, storage=None) -> UploadTracking:
    """The client's completion call: closes a multipart upload (parts = [{part_number, etag}]) and finishes the row."""
    upload = _awaiting_s3(owner, upload_id)
    if upload.status != UploadStatus.AWAITING_UPLOAD:
        raise DirectUploadRefused(f"This upload is already {upload.status}.", code="replayed", status=409)
    if upload.direct_upload_id:
        if not isinstance(parts, list) or not parts:
            raise DirectUploadRefused("parts must list {part_number, etag} of every part.", code="invalid_parts")
        try:
            numbered = [(int(part["part_number"]), str(part["etag"])) for part in parts]
        except (KeyError, TypeError, ValueError):
            raise DirectUploadRefused(
                "parts must list {part_number, etag} of every part.", code="invalid_parts"
            ) from None
        s3 = _backend_storage(upload.permanent_backend, storage)
        s3_direct.multipart_complete(s3, upload.permanent_name, upload_id=upload.direct_upload_id, parts=numbered)
        UploadTracking.objects.filter(pk=upload.pk).update(direct_upload_id="")
    return _object_arrived(upload.pk, pathname=upload.permanent_name)


def direct_s3_abort(*, owner, upload_id: object, storage=None) -> None:
    upload = _awaiting_s3(owner, upload_id)
    if upload.status != UploadStatus.AWAITING_UPLOAD:
        raise DirectUploadRefused(f"This upload is already {upload.status}.", code="replayed", status=409)
    _expire(upload, "the client aborted the upload", storage=storage)


# --- finishing ----------------------------------------------------------------------------------
def upload_finish(*, upload_id: int, storage=None) -> PromotionResult:
    """The promotion task's work: a direct upload is finished here, any other one promoted."""
    direct = UploadTracking.objects.filter(pk=upload_id, direct_valid_until__isnull=False).exists()
    if not direct:
        return upload_promote(upload_id=upload_id, storage=storage)
    return direct_finish(upload_id=upload_id, storage=storage)


def direct_finish(*, upload_id: int, storage=None) -> PromotionResult:
    storage = storage or default_storage
    with transaction.atomic():
        upload = UploadTracking.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None:
            return PromotionResult(status="missing")
        if upload.status == UploadStatus.COMPLETE:
            return PromotionResult(status="already_complete")
        if upload.status not in (UploadStatus.PENDING, UploadStatus.PROCESSING, UploadStatus.AWAITING_UPLOAD):
            return PromotionResult(status=upload.status)
        upload.status = UploadStatus.PROCESSING
        upload.attempts += 1
        upload.processing_started_at = timezone.now()
        upload.save(update_fields=["status", "attempts", "processing_started_at", "updated_at"])
    backend = _backend_storage(upload.permanent_backend, storage)
    spec = kinds.get(upload.kind)
    name = upload.permanent_name
    copy = temporary_root() / f"direct-{upload.pk}"
    try:
        try:
            content_type = _check_stored(backend, name, copy, spec, upload)
        except UploadRejected as exc:
            _refuse(upload, backend, str(exc.message))
            return PromotionResult(status="error")
        except FileNotFoundError:
            _fail(upload, "the object is not in the store", retriable=True)
            return PromotionResult(status="retry", retry_in=5.0)
        except Exception as exc:
            logger.warning("finishing direct upload %s failed: %s", upload.pk, exc)
            _fail(upload, f"{type(exc).__name__}: {exc}", retriable=True)
            return PromotionResult(status="retry", retry_in=5.0)
        size, checksum = upload.size, upload.checksum
        record = locations.location_get(name)
        if record is None:
            reserved = locations.location_reserve(name, upload.permanent_backend)
            if reserved is not None:
                locations.location_finish(reserved, name=name, size=size, checksum=checksum)
                if isinstance(storage, FallbackStorage):
                    storage.stored(name)  # its replicas, as for a file saved through the chain
        thumb = _store_thumbnail(upload, storage, copy) if spec.thumbnail else ""
        with transaction.atomic():
            locked = UploadTracking.objects.select_for_update().get(pk=upload.pk)
            locked.content_type, locked.size, locked.checksum = content_type, size, checksum
            locked.temp_path = copy.name
            if spec.target_field and spec.target_of(locked) is None:
                title = (Path(locked.original_filename).stem or locked.original_filename)[:255]
                setattr(
                    locked,
                    spec.target_field,
                    spec.create_target(owner=locked.owner, title=title, content_type=content_type, size=size),
                )
            locked.save(
                update_fields=[
                    "content_type",
                    "size",
                    "checksum",
                    "temp_path",
                    spec.target_field or "kind",
                    "updated_at",
                ]
            )
            result = _commit(locked, storage, name, thumb)
        return result
    finally:
        copy.unlink(missing_ok=True)


def _check_stored(backend, name: str, copy: Path, spec: kinds.UploadKindSpec, upload: UploadTracking) -> str:
    """The content type of the stored object, checked; its size and SHA-256 set on `upload`."""
    with backend.open(name, "rb") as handle:
        head = handle.read(SNIFF_BYTES)  # the first bytes only: a refused type is known before the rest moves
    head_file = temporary_root() / f"direct-{upload.pk}.head"
    try:
        head_file.write_bytes(head)
        try:
            sniff_type(head_file, kind=spec.content_class, filename=upload.original_filename)
        except UploadRejected as exc:
            # Only the type verdict counts here: a ZIP or an image needs all its bytes to be judged whole.
            if exc.code == "unsupported_type" and not head.startswith(b"PK"):
                raise
    finally:
        head_file.unlink(missing_ok=True)
    digest = hashlib.sha256()
    size = 0
    with backend.open(name, "rb") as handle, copy.open("wb") as out:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size > settings.UPLOAD_MAX_SIZE:
        raise UploadRejected(
            f"The file is {size} bytes; the largest accepted upload is {settings.UPLOAD_MAX_SIZE} bytes.",
            code="file_too_large",
        )
    if size == 0:
        raise UploadRejected("The file is empty.", code="empty_file")
    upload.size, upload.checksum = size, digest.hexdigest()
    return sniff_type(copy, kind=spec.content_class, filename=upload.original_filename).content_type


def _refuse(upload: UploadTracking, backend, reason: str) -> None:
    """A stored file whose content is refused: deleted from the store, its row `error` with the reason."""
    try:
        backend.delete(upload.permanent_name)
    except Exception as exc:  # the sweep's expiry deletes it again later
        logger.warning("could not delete refused direct upload %s: %s", upload.pk, exc)
    with transaction.atomic():
        UploadTracking.objects.filter(pk=upload.pk).update(
            status=UploadStatus.ERROR, last_error=reason[:2000], processing_started_at=None, updated_at=timezone.now()
        )


def _fail(upload: UploadTracking, message: str, *, retriable: bool) -> None:
    give_up = not retriable or upload.attempts >= settings.UPLOAD_MAX_ATTEMPTS
    UploadTracking.objects.filter(pk=upload.pk).update(
        status=UploadStatus.ERROR if give_up else UploadStatus.PENDING,
        last_error=message[:2000],
        processing_started_at=None,
        updated_at=timezone.now(),
    )


def _expire(upload: UploadTracking, reason: str, *, storage=None) -> None:
    try:
        backend = _backend_storage(upload.permanent_backend, storage)
        if upload.direct_upload_id and isinstance(backend, S3Storage):
            s3_direct.multipart_abort(backend, upload.permanent_name, upload_id=upload.direct_upload_id)
        backend.delete(upload.permanent_name)
    except FileNotFoundError:
        pass
    UploadTracking.objects.filter(pk=upload.pk, status=UploadStatus.AWAITING_UPLOAD).update(
        status=UploadStatus.ERROR, last_error=reason, direct_upload_id="", updated_at=timezone.now()
    )


def direct_sweep(*, grace: int, dry_run: bool = False, storage=None) -> tuple[list[int], list[int]]:
    """Rows awaiting a direct upload: (finished, expired).

    The object there: finish it; absent past its validity + `grace`: expire it.
    """
    now = timezone.now()
    finished: list[int] = []
    expired: list[int] = []
    for upload in UploadTracking.objects.filter(status=UploadStatus.AWAITING_UPLOAD).order_by("pk"):
        try:
            backend = _backend_storage(upload.permanent_backend, storage)
            there = not upload.direct_upload_id and backend.exists(upload.permanent_name)
        except Exception as exc:
            logger.warning("sweep: direct upload %s not checked: %s", upload.pk, exc)
            continue
        if there:
            finished.append(upload.pk)
            if not dry_run:
                with contextlib.suppress(DirectUploadRefused):  # finished meanwhile by its callback
                    _object_arrived(upload.pk, pathname=upload.permanent_name)
        elif upload.direct_valid_until + timedelta(seconds=grace) <= now:
            expired.append(upload.pk)
            if not dry_run:
                _expire(upload, "the file never arrived: the upload expired")
    return finished, expired
