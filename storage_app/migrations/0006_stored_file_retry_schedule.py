"""StoredFile records what a retry schedule of deferred deletes needs: attempts, next attempt, last error.

Columns added only, with defaults in the database as well, so processes of the previous release
keep inserting records while the new one is deployed.
"""

from django.db import migrations, models


RETRY_SCHEDULE_FIELDS = {
    "attempts": models.PositiveIntegerField(db_default=0, default=0, help_text="Failed purges of a deleting record"),
    "last_error": models.TextField(blank=True, db_default="", default=""),
    "next_attempt_at": models.DateTimeField(blank=True, help_text="When a deleting record is retried", null=True),
}


class Migration(migrations.Migration):
    dependencies = [
        ("storage_app", "0005_delete_uploadtracking"),
    ]

    operations = [
        *(
            migrations.AddField(model_name="storedfile", name=name, field=field)
            for name, field in RETRY_SCHEDULE_FIELDS.items()
        ),
        migrations.AddIndex(
            model_name="storedfile",
            index=models.Index(
                condition=models.Q(("state", "deleting")),
                fields=["next_attempt_at"],
                name="stored_file_deleting_due_idx",
            ),
        ),
    ]
