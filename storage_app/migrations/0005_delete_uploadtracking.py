"""upload_tracking now belongs to the upload pipeline (uploads 0001): removed from this app's state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("storage_app", "0004_upload_kind_file"),
        ("uploads", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="UploadTracking")],
            database_operations=[],
        ),
    ]
