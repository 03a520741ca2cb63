"""Writes of documents: creating one from an uploaded file through the tracked pipeline, deleting one."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from documents.models import Document
from uploads.models import UploadKind
from uploads.services.deletion import files_delete_on_commit
from uploads.services.uploads import upload_create
from uploads.validation import clean_filename


@transaction.atomic
def document_create(
    *,
    owner,
    file,
    title: str | None = None,
    author: str = "",
    category: str = "",
    summary: str = "",
    tags: list[str] | None = None,
) -> Document:
    """Create a document and track its file; a refused file (UploadRejected) leaves no document behind.

    Without a title the cleaned file name's stem is used. The file reaches permanent storage after
    the commit; the document's file, size, checksum and content type are set then, and text
    extraction is queued.
    """
    if not title:
        name = clean_filename(getattr(file, "name", "") or "")
        title = (Path(name).stem or name)[:255]
    document = Document(
        owner=owner, title=title, author=author, category=category, summary=summary, tags=list(tags or [])
    )
    document.full_clean(exclude=["owner", "file", "checksum"])
    document.save()
    document_attach_file(document=document, file=file)
    return document


def document_attach_file(*, document: Document, file):
    """Track `file` as the document's (new) content; the old file goes once the new one is stored."""
    return upload_create(owner=document.owner, file=file, kind=UploadKind.DOCUMENT, target=document)


@transaction.atomic
def document_delete(*, document: Document) -> None:
    """Delete the document; its file is removed after the commit (a failed delete is retried by the sweep).

    Its vectors go with it through the documents app's post_delete hook.
    """
    names = [document.file.name]
    document.delete()
    files_delete_on_commit(names)
