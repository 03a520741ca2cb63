"""Processing of a stored document: extract its text, chunk it, embed the chunks, replace its vectors.

Run by the Celery task documents.tasks.document_process_task once the upload pipeline has put the
file in permanent storage. The stored file is only read. Re-running is safe: each run replaces the
document's vectors as a whole, and a run that finds the document deleted or its file replaced
meanwhile writes nothing (the run queued for the new file does the work).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from documents.chunking import chunk_spans
from documents.embedders import Embedder, EmbedderError, EmbedderUnavailable, get_embedder
from documents.extraction import ExtractedText, ExtractionError, extract_text
from documents.models import Document, ProcessingStatus
from documents.services.vectors import document_vectors_replace
from storage_app.exceptions import StorageUnavailable

logger = logging.getLogger(__name__)

# Files above this are spooled to a temporary file rather than held in memory while parsed.
SPOOL_MAX_MEMORY = 16 * 1024**2
COPY_BUFFER = 1024**2


class DocumentFileUnavailable(Exception):
    """The stored file could not be read now (its storage is down); processing should be retried."""


@dataclass(frozen=True)
class ProcessingResult:
    status: str  # complete, error, missing or superseded
    chunks: int = 0
    error: str = ""


def document_process(*, document_id: int, embedder: Embedder | None = None) -> ProcessingResult:
    """Process one document. Raises EmbedderUnavailable or DocumentFileUnavailable when a retry may succeed."""
    if not Document.objects.filter(pk=document_id).update(
        processing_status=ProcessingStatus.PROCESSING, processing_error="", updated_at=timezone.now()
    ):
        logger.info("document %s is gone; nothing to process", document_id)
        return ProcessingResult(status="missing")
    document = Document.objects.filter(pk=document_id).first()
    if document is None:  # deleted between the two statements
        return ProcessingResult(status="missing")
    version = (document.file.name, document.checksum)
    if not document.file.name:
        return _fail(document, version, "The document has no stored file yet.")

    if settings.DOCUMENT_CRASH:
        os.kill(os.getpid(), signal.SIGKILL)  # fault injection for the redelivery tests only
    try:
        extracted = _read_text(document)
    except ExtractionError as exc:
        # The file gives no text: whatever was indexed for it (an earlier file) no longer describes it.
        return _fail(document, version, str(exc), clear_vectors=True, page_count=exc.page_count)
    except DocumentFileUnavailable as exc:
        _fail(document, version, f"The file could not be read from storage ({exc}); processing will be retried.")
        raise

    text = extracted.text[: settings.DOCUMENT_MAX_TEXT_CHARS]
    spans = chunk_spans(text, size=settings.DOCUMENT_CHUNK_SIZE, overlap=settings.DOCUMENT_CHUNK_OVERLAP)
    chunks = [text[start:end] for start, end in spans]
    locations = [_location(extracted, (start + end) // 2) for start, end in spans]
    embedder = embedder or get_embedder()
    try:
        embeddings = embedder.embed_documents(chunks)
    except EmbedderUnavailable as exc:
        _fail(document, version, f"Embedding failed for now ({exc}); processing will be retried.")
        raise
    except EmbedderError as exc:
        return _fail(document, version, f"Embedding failed: {exc}")

    with transaction.atomic():
        # The row lock holds off a delete or a new file until the vectors are written, so a deleted
        # document never gets vectors back and a replaced file never gets the old file's text.
        current = Document.objects.select_for_update().filter(pk=document_id).first()
        if current is None:
            return ProcessingResult(status="missing")
        if (current.file.name, current.checksum) != version:
            return ProcessingResult(status="superseded")
        document_vectors_replace(
            document_id=document_id,
            owner_id=current.owner_id,
            model_name=embedder.model_name,
            chunks=chunks,
            embeddings=embeddings,
            locations=locations,
        )
        Document.objects.filter(pk=document_id).update(
            processing_status=ProcessingStatus.COMPLETE,
            processing_error="",
            page_count=extracted.page_count,
            updated_at=timezone.now(),
        )
    logger.info("document %s processed: %s chunks (%s)", document_id, len(chunks), embedder.model_name)
    return ProcessingResult(status="complete", chunks=len(chunks))


def document_fail(*, document_id: int, message: str) -> ProcessingResult:
    """Mark a document `error` with `message` (its task stopped at a time limit or kept killing its worker)."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return ProcessingResult(status="missing")
    return _fail(document, (document.file.name, document.checksum), message, clear_vectors=True)


def _location(extracted: ExtractedText, offset: int) -> tuple[int | None, str]:
    """(page, heading) at the middle of a chunk: where most of the passage a search hit shows is found.

    The middle rather than the start, since with the overlap a chunk often begins in the last lines
    of the page (section) before the one it is about.
    """
    section = extracted.location_at(offset)
    return (section.page, section.heading) if section else (None, "")


def _read_text(document: Document) -> ExtractedText:
    # Parsers need to seek; a remote storage's file object may not, so the bytes go to a local spool.
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY) as spool:
        try:
            with document.file.open("rb") as stored:
                shutil.copyfileobj(stored, spool, COPY_BUFFER)
        except FileNotFoundError:
            raise ExtractionError("The stored file is missing from storage.") from None
        except (StorageUnavailable, ConnectionError, TimeoutError) as exc:
            raise DocumentFileUnavailable(str(exc) or type(exc).__name__) from exc
        spool.seek(0)
        return extract_text(
            spool,
            content_type=document.content_type,
            filename=PurePosixPath(document.file.name).name,
            max_chars=settings.DOCUMENT_MAX_TEXT_CHARS,
            max_unpacked=settings.DOCUMENT_MAX_UNPACKED,
            max_elements=settings.DOCUMENT_MAX_ELEMENTS,
            max_pages=settings.DOCUMENT_MAX_PAGES,
        )


def _fail(
    document: Document, version: tuple, message: str, *, clear_vectors: bool = False, page_count: int | None = None
) -> ProcessingResult:
    with transaction.atomic():
        current = Document.objects.select_for_update().filter(pk=document.pk).first()
        if current is None:
            return ProcessingResult(status="missing")
        if (current.file.name, current.checksum) != version:
            return ProcessingResult(status="superseded")
        if clear_vectors:
            document_vectors_replace(
                document_id=document.pk, owner_id=current.owner_id, model_name="", chunks=[], embeddings=[]
            )
        Document.objects.filter(pk=document.pk).update(
            processing_status=ProcessingStatus.ERROR,
            processing_error=message[:2000],
            page_count=page_count,
            updated_at=timezone.now(),
        )
    logger.warning("document %s not processed: %s", document.pk, message)
    return ProcessingResult(status="error", error=message)
