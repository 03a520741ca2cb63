"""upload_tracking moves from storage_app to the upload pipeline's own app: the model's state only.

The table, its rows, indexes and constraints stay as they are (created by storage_app 0001-0004);
the content type is renamed so permissions granted on it keep working.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _rename(apps, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label=new, model="uploadtracking").exists():
        content_type.objects.filter(app_label=old, model="uploadtracking").update(app_label=new)


def move_content_type(apps, schema_editor) -> None:
    _rename(apps, "storage_app", "uploads")


def move_content_type_back(apps, schema_editor) -> None:
    _rename(apps, "uploads", "storage_app")


def _optional_upload_link(to: str) -> models.ForeignKey:
    """UploadTracking's link to what an upload became (an item's image, a document), cleared when it goes."""
    return models.ForeignKey(
        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="uploads", to=to
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("documents", "0002_vector_fulltext_index"),
        ("inventory", "0001_initial"),
        ("storage_app", "0004_upload_kind_file"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="UploadTracking",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("original_filename", models.CharField(max_length=255)),
                        ("content_type", models.CharField(max_length=255)),
                        ("size", models.BigIntegerField()),
                        ("checksum", models.CharField(help_text="SHA-256 of the content, hex", max_length=64)),
                        (
                            "kind",
                            models.CharField(
                                choices=[("image", "Image"), ("document", "Document"), ("file", "File")], max_length=16
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("processing", "Processing"),
                                    ("complete", "Complete"),
                                    ("error", "Error"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        (
                            "temp_path",
                            models.CharField(blank=True, help_text="Location in the temporary area", max_length=1024),
                        ),
                        ("permanent_name", models.CharField(blank=True, max_length=1024)),
                        ("permanent_backend", models.CharField(blank=True, max_length=32)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                        ("processing_started_at", models.DateTimeField(blank=True, null=True)),
                        ("completed_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("document", _optional_upload_link("documents.document")),
                        ("inventory_item", _optional_upload_link("inventory.inventoryitem")),
                        (
                            "owner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="uploads",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "upload_tracking",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["owner", "-created_at"], name="upload_owner_created_idx"),
                            models.Index(fields=["status", "updated_at"], name="upload_status_updated_idx"),
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("status__in", ["pending", "processing", "complete", "error"])),
                                name="upload_status_valid",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("kind__in", ["image", "document", "file"])),
                                name="upload_kind_valid",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("size__gte", 0)), name="upload_size_non_negative"
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("status", "complete"), _negated=True),
                                    models.Q(
                                        models.Q(("permanent_name", ""), _negated=True),
                                        models.Q(("permanent_backend", ""), _negated=True),
                                    ),
                                    _connector="OR",
                                ),
                                name="upload_complete_has_location",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
