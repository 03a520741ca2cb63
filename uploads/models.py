"""The upload pipeline's table: one row per file on its way from the temporary area to permanent storage."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class UploadKind(models.TextChoices):
    IMAGE = "image", "Image"
    DOCUMENT = "document", "Document"
    # A file stored through storage_manager: any type, owned by a user, attached to no item or document.
    FILE = "file", "File"


class UploadStatus(models.TextChoices):
    # A direct upload (browser → Vercel Blob or S3): the token is out, the object not yet seen.
    AWAITING_UPLOAD = "awaiting_upload", "Awaiting upload"
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETE = "complete", "Complete"
    ERROR = "error", "Error"


class UploadTracking(models.Model):
    """One file's way from temporary local storage to its permanent home (seed table `upload_tracking`)."""

    Kind = UploadKind
    Status = UploadStatus

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    original_filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.BigIntegerField()
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the content, hex")
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    status = models.CharField(max_length=16, choices=UploadStatus.choices, default=UploadStatus.PENDING)
    temp_path = models.CharField(max_length=1024, blank=True, help_text="Location in the temporary area")
    permanent_name = models.CharField(max_length=1024, blank=True)
    permanent_backend = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    inventory_item = models.ForeignKey(
        "inventory.InventoryItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads"
    )
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads"
    )
    processing_started_at = models.DateTimeField(null=True, blank=True)
    # Direct uploads (uploads.services.direct): until when the client may send the object, and the
    # S3 multipart upload id while one is open. Null/blank for uploads through the server.
    direct_valid_until = models.DateTimeField(null=True, blank=True)
    direct_upload_id = models.CharField(max_length=1024, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "upload_tracking"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="upload_owner_created_idx"),
            # The sweep looks for stale 'processing' and retriable 'pending' rows.
            models.Index(fields=["status", "updated_at"], name="upload_status_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=UploadStatus.values), name="upload_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=UploadKind.values), name="upload_kind_valid"),
            models.CheckConstraint(condition=Q(size__gte=0), name="upload_size_non_negative"),
            models.CheckConstraint(
                condition=~Q(status="complete") | (~Q(permanent_name="") & ~Q(permanent_backend="")),
                name="upload_complete_has_location",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.status})"
