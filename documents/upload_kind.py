"""The documents' upload kind: a PDF, DOCX, text or Markdown file owned by a Document, processed once stored."""

from __future__ import annotations

import logging

from django.db import transaction

from documents.models import Document
from documents.tasks import document_process_task
from uploads.kinds import UploadKindSpec
from uploads.models import UploadKind

logger = logging.getLogger(__name__)


def document_for_file(*, owner, title: str, content_type: str, size: int) -> Document:
    """A file sent without a document creates one titled after the file."""
    return Document.objects.create(owner=owner, title=title, content_type=content_type, size=size)


def file_attach(document: Document, upload, stored_name: str, thumbnail: str) -> list[str]:
    """The stored file becomes the document's content; its text is extracted and embedded after the commit."""
    orphaned = [document.file.name] if document.file.name and document.file.name != stored_name else []
    document.file.name = stored_name
    document.size = upload.size
    document.checksum = upload.checksum
    document.content_type = upload.content_type
    document.processing_status = Document.Status.PENDING
    document.processing_error = ""
    document.save()
    transaction.on_commit(lambda: _enqueue_processing(document.pk))
    return orphaned


def _enqueue_processing(document_id: int) -> None:
    try:
        document_process_task.delay(document_id)
    except Exception as exc:  # an unreachable broker: the document stays pending for `reembed`
        logger.warning("could not queue processing of document %s: %s", document_id, exc)


def file_names():
    return Document.objects.values_list("file", flat=True).iterator()


DOCUMENT = UploadKindSpec(
    name=UploadKind.DOCUMENT,
    folder="documents",
    content_class="document",
    target_field="document",
    create_target=document_for_file,
    attach=file_attach,
    stored_names=file_names,
)
