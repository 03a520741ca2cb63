from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

EMBEDDING_DIMENSIONS = 384
# The HNSW index over every owner's vectors (documents/migrations/0004 rebuilt it with these).
HNSW_INDEX_NAME = "docvec_embedding_hnsw"
HNSW_M = 24
HNSW_EF_CONSTRUCTION = 100

# What the pipeline learns from a document's stored file: shown to its owner and to staff, set by neither.
FILE_FACTS = ("content_type", "size", "checksum", "page_count", "processing_status", "processing_error")


class ProcessingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETE = "complete", "Complete"
    ERROR = "error", "Error"


class Document(models.Model):
    """A stored business document (seed table `user_documents`)."""

    Status = ProcessingStatus

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=255)
    author = models.CharField(max_length=255, blank=True)
    file = models.FileField(max_length=1024, blank=True, upload_to="documents/")
    content_type = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(default=0)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the content, hex")
    page_count = models.PositiveIntegerField(null=True, blank=True)
    summary = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    processing_status = models.CharField(
        max_length=16, choices=ProcessingStatus.choices, default=ProcessingStatus.PENDING
    )
    processing_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "user_documents"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="document_owner_created_idx"),
            models.Index(fields=["owner", "processing_status"], name="document_owner_status_idx"),
            GinIndex(fields=["tags"], name="document_tags_gin"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=0), name="document_size_non_negative"),
            models.CheckConstraint(
                condition=Q(processing_status__in=ProcessingStatus.values), name="document_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(checksum="") | Q(checksum__regex=r"^[0-9a-f]{64}$"), name="document_checksum_sha256"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DocumentVector(models.Model):
    """One chunk of a document's text and its embedding (seed table `document_vectors`).

    It may live in a separate vector database, so it refers to its document and owner by id, with
    no foreign key; owner_id is kept here so searches filter by user inside the vector query.
    """

    document_id = models.BigIntegerField()
    owner_id = models.BigIntegerField()
    chunk_index = models.PositiveIntegerField()
    chunk_text = models.TextField()
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    embedding_model = models.CharField(max_length=128)
    # Where the chunk begins in its document, shown with a search hit: the page of a PDF, the heading
    # of a DOCX or Markdown section ("" when the text has none, as before any heading). Both are added
    # to a large table without rewriting it: a nullable column, and a constant database default
    # (a CHECK constraint, as PositiveIntegerField's, would make the ALTER scan every row under its lock).
    page = models.IntegerField(null=True, blank=True)
    heading = models.CharField(max_length=255, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "document_vectors"
        ordering = ["document_id", "chunk_index"]
        indexes = [
            # Graph parameters chosen by measurement at a million vectors (docs/search.md, "Index"): the
            # default m=16, ef_construction=64 capped recall@10 near 0.94 whatever ef_search was.
            HnswIndex(
                name=HNSW_INDEX_NAME,
                fields=["embedding"],
                m=HNSW_M,
                ef_construction=HNSW_EF_CONSTRUCTION,
                opclasses=["vector_cosine_ops"],
            ),
            models.Index(fields=["owner_id", "embedding_model"], name="docvec_owner_model_idx"),
            models.Index(fields=["document_id"], name="docvec_document_idx"),
            # Full-text side of hybrid search; queries must use the same expression (selectors.search).
            GinIndex(SearchVector("chunk_text", config="english"), name="docvec_chunk_fts"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["document_id", "embedding_model", "chunk_index"], name="docvec_unique_chunk"
            ),
        ]

    def __str__(self) -> str:
        return f"document {self.document_id} chunk {self.chunk_index}"
