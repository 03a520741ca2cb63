"""Direct uploads to S3: the browser sends the object itself, on URLs this server signs.

What django-storages does not offer (jschneier/django-storages#1481, #700): a presigned PUT for a
file small enough for one request (the signature pins the key and the type), and a
presigned multipart upload for a large one (create here, one presigned URL per part, complete or
abort here). Every call is one boto3 request or none (signing is local); errors come back in the
storage layer's families (translate_error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from storage_app.backends.s3.storage import S3Storage, translate_error

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part, except the last
MAX_PARTS = 10_000


@dataclass(frozen=True)
class PresignedMultipart:
    upload_id: str
    part_size: int
    part_urls: list[str]


def _client(storage: S3Storage):
    return storage.connection.meta.client


def presigned_put(storage: S3Storage, name: str, *, content_type: str, expires_in: int) -> str:
    """A URL that can PUT exactly `name` with `content_type` (signed), until it expires.

    A presigned POST policy could also bound the size, but not every S3 server takes one (nanio, the
    test peer, does not); the size is checked after the upload instead, by a HEAD and a streamed read
    (uploads.services.direct), and a file too large is deleted.
    """
    try:
        return _client(storage).generate_presigned_url(
            "put_object",
            Params={"Bucket": storage.bucket_name, "Key": storage.key_for(name), "ContentType": content_type},
            ExpiresIn=expires_in,
        )
    except Exception as exc:
        raise translate_error(exc, storage.alias) from exc


def part_size_for(size: int, preferred: int) -> int:
    """The part size for `size` bytes: `preferred`, grown so the parts stay within S3's 10 000."""
    return max(MIN_PART_SIZE, preferred, math.ceil(size / MAX_PARTS))


def multipart_create(
    storage: S3Storage, name: str, *, size: int, content_type: str, part_size: int, expires_in: int
) -> PresignedMultipart:
    key = storage.key_for(name)
    client = _client(storage)
    part_size = part_size_for(size, part_size)
    try:
        upload_id = client.create_multipart_upload(Bucket=storage.bucket_name, Key=key, ContentType=content_type)[
            "UploadId"
        ]
        urls = [
            client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": storage.bucket_name, "Key": key, "UploadId": upload_id, "PartNumber": number},
                ExpiresIn=expires_in,
            )
            for number in range(1, math.ceil(size / part_size) + 1)
        ]
    except Exception as exc:
        raise translate_error(exc, storage.alias) from exc
    return PresignedMultipart(upload_id=upload_id, part_size=part_size, part_urls=urls)


def multipart_complete(storage: S3Storage, name: str, *, upload_id: str, parts: list[tuple[int, str]]) -> None:
    ordered = [{"PartNumber": number, "ETag": etag} for number, etag in sorted(parts)]
    try:
        _client(storage).complete_multipart_upload(
            Bucket=storage.bucket_name,
            Key=storage.key_for(name),
            UploadId=upload_id,
            MultipartUpload={"Parts": ordered},
        )
    except Exception as exc:
        raise translate_error(exc, storage.alias) from exc


def multipart_abort(storage: S3Storage, name: str, *, upload_id: str) -> None:
    try:
        _client(storage).abort_multipart_upload(
            Bucket=storage.bucket_name, Key=storage.key_for(name), UploadId=upload_id
        )
    except Exception as exc:
        error = translate_error(exc, storage.alias)
        if not isinstance(error, FileNotFoundError):
            raise error from exc
