"""One ledger of deferred deletes: every PendingDeletion row becomes a StoredFile record in state `deleting`.

- A name with a record: the record is set `deleting` (a record already `deleting` keeps its backends
  and takes the larger attempt count). A record created after the pending deletion belongs to a
  newer file that took the name once the old one was gone; it is left alone.
- A name with no record: a `deleting` record is created whose backend, moving_to and leftover_on
  name every backend alias (vercel, s3, local), so the retry deletes the name on each; deleting an
  object that is not there is a no-op. Attempts, last error and next attempt are carried over.

The table storage_pending_deletion is kept, with its rows, but nothing writes or reads it any more:
the model leaves Django's state only (no table is dropped). Running this again (after migrating
back) finds the records already `deleting` and changes nothing that matters; migrating back keeps
the records, which the code of that time also purges.
"""

from django.db import migrations

EVERY_ALIAS = ("vercel", "s3", "local")
DELETING = "deleting"


def pending_deletions_into_ledger(apps, schema_editor):
    pending_deletion = apps.get_model("storage_app", "PendingDeletion")
    stored_file = apps.get_model("storage_app", "StoredFile")
    db = schema_editor.connection.alias
    for pending in pending_deletion.objects.using(db).order_by("pk").iterator():
        schedule = {
            "attempts": pending.attempts,
            "last_error": pending.last_error,
            "next_attempt_at": pending.next_attempt_at,
        }
        record = stored_file.objects.using(db).filter(name=pending.name).first()
        if record is None:
            backend, moving_to, leftover_on = EVERY_ALIAS
            stored_file.objects.using(db).create(
                name=pending.name,
                backend=backend,
                moving_to=moving_to,
                leftover_on=leftover_on,
                state=DELETING,
                **schedule,
            )
        elif record.state == DELETING:
            record.attempts = max(record.attempts, pending.attempts)
            record.last_error = record.last_error or pending.last_error
            record.save(update_fields=["attempts", "last_error"])
        elif record.created_at <= pending.created_at:
            record.state = DELETING
            for field, value in schedule.items():
                setattr(record, field, value)
            record.save(update_fields=["state", *schedule, "updated_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("storage_app", "0006_stored_file_retry_schedule"),
    ]

    operations = [
        migrations.RunPython(pending_deletions_into_ledger, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PendingDeletion")],
            database_operations=[],
        ),
    ]
