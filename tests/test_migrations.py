"""`migrate` on a database created by the main branch before the restructure keeps every table and every row.

The test database is migrated back to that main's migration leaves (apps that did not exist then are
migrated to zero; Django's and DRF's own apps stay where they are), every table is filled through the
historical models of that point, and the database is migrated forward to the latest migrations. No
table may be renamed or dropped, no row lost, and upload_tracking, whose model moved from storage_app
to uploads by state-only migrations, keeps its rows, its content type and the permissions granted on it.
"""

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[1]

# The migration leaves of the project's apps on main before the restructure. An app of the project
# not named here did not exist then and is migrated to zero.
OLD_LEAVES = {
    "storage_app": "0004_upload_kind_file",
    "inventory": "0001_initial",
    "documents": "0002_vector_fulltext_index",
}
NOT_DATA = {"django_migrations"}
EMBEDDING_DIMENSIONS = 384


def project_apps(loader) -> set[str]:
    """Labels of the apps with migrations that are this project's own (not Django's, not a library's)."""
    outside = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
    labels = set()
    for label in loader.migrated_apps:
        path = Path(global_apps.get_app_config(label).path).resolve()
        if path.is_relative_to(ROOT) and not any(path.is_relative_to(p) for p in outside):
            labels.add(label)
    return labels


def old_targets(loader) -> list[tuple[str, str | None]]:
    return [(label, OLD_LEAVES.get(label)) for label in sorted(project_apps(loader))]


def old_state_nodes(loader) -> list[tuple[str, str]]:
    """The nodes whose state is the old database's: the old leaves and the other apps' current leaves."""
    ours = project_apps(loader)
    others = [node for node in loader.graph.leaf_nodes() if node[0] not in ours]
    return [(label, name) for label, name in old_targets(loader) if name] + others


def data_tables(alias: str) -> set[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor)) - NOT_DATA


def row_counts(alias: str, tables: set[str]) -> dict[str, int]:
    connection = connections[alias]
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(tables):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 (introspected)
            counts[table] = cursor.fetchone()[0]
    return counts


def table_rows(alias: str, table: str) -> list[dict]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY id")  # noqa: S608 (fixed name)
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def fill_old_database(old) -> dict:
    """Rows in every table of the old schema, written through its historical models (`old` is their registry)."""
    now = timezone.now()
    user_model = old.get_model("auth", "User")
    alice = user_model.objects.create(username="alice", email="alice@example.com", password="!", is_active=True)
    bob = user_model.objects.create(username="bob", password="!")

    content_type_model = old.get_model("contenttypes", "ContentType")
    # On the old main no content type of app 'uploads' existed; the permissions granted on upload
    # tracking hang on storage_app's content type.
    assert not content_type_model.objects.filter(app_label="uploads").exists()
    upload_ct, _ = content_type_model.objects.get_or_create(app_label="storage_app", model="uploadtracking")
    permission_model = old.get_model("auth", "Permission")

    def permission(codename: str, name: str):
        return permission_model.objects.get_or_create(
            content_type=upload_ct, codename=codename, defaults={"name": name}
        )[0]

    view = permission("view_uploadtracking", "Can view upload tracking")
    change = permission("change_uploadtracking", "Can change upload tracking")
    custom = permission("retry_uploadtracking", "Can retry upload tracking")
    operators = old.get_model("auth", "Group").objects.create(name="upload operators")
    operators.permissions.add(change)
    alice.groups.add(operators)
    alice.user_permissions.add(view, custom)
    old.get_model("authtoken", "Token").objects.create(key="a" * 40, user=alice)
    # Knox's table (API tokens, added later) is not migrated back; a row in it must survive too.
    old.get_model("knox", "AuthToken").objects.create(
        digest="d" * 128, token_key="k" * 15, user=alice, expiry=now + dt.timedelta(days=7)
    )
    old.get_model("sessions", "Session").objects.create(
        session_key="s" * 32, session_data="e30:", expire_date=now + dt.timedelta(days=1)
    )

    item = old.get_model("inventory", "InventoryItem").objects.create(
        owner=alice,
        name="Teapot",
        description="Blue glaze",
        category="ceramics",
        tags=["ceramic", "blue"],
        import_cost=Decimal("3.50"),
        retail_price=Decimal("12.00"),
        image="inventory/teapot.jpg",
        thumbnail="inventory/thumbnails/teapot.jpg",
    )
    document = old.get_model("documents", "Document").objects.create(
        owner=alice,
        title="Manual",
        file="documents/manual.pdf",
        content_type="application/pdf",
        size=1234,
        checksum="ab" * 32,
        page_count=3,
        tags=["pdf"],
        processing_status="complete",
    )
    old.get_model("documents", "DocumentVector").objects.create(
        document_id=document.id,
        owner_id=alice.id,
        chunk_index=0,
        chunk_text="How to brew tea in the blue teapot.",
        embedding=[(i % 17) / 17 for i in range(EMBEDDING_DIMENSIONS)],
        embedding_model="all-MiniLM-L6-v2",
    )

    upload_model = old.get_model("storage_app", "UploadTracking")
    common = {"content_type": "application/octet-stream", "size": 10, "checksum": "c" * 64}

    def upload(owner, original_filename: str, kind: str, status: str, **fields):
        return upload_model.objects.create(
            **common, owner=owner, original_filename=original_filename, kind=kind, status=status, **fields
        )

    uploads = [
        upload(
            alice,
            "teapot.jpg",
            "image",
            "complete",
            permanent_name="inventory/teapot.jpg",
            permanent_backend="local",
            inventory_item=item,
            attempts=1,
            processing_started_at=now,
            completed_at=now,
        ),
        upload(
            alice,
            "manual.pdf",
            "document",
            "processing",
            temp_path="tmp/manual.pdf",
            document=document,
            attempts=2,
            processing_started_at=now,
        ),
        upload(alice, "notes.txt", "file", "pending", temp_path="tmp/n"),
        upload(bob, "broken.bin", "file", "error", attempts=5, last_error="backend down"),
        upload(
            bob,
            "report.pdf",
            "document",
            "complete",
            permanent_name="documents/report.pdf",
            permanent_backend="s3",
            completed_at=now,
        ),
    ]
    old.get_model("admin", "LogEntry").objects.create(
        user=alice,
        content_type=upload_ct,
        object_id=str(uploads[0].id),
        object_repr="teapot.jpg (complete)",
        action_flag=2,
        change_message="[]",
    )

    stored_file = old.get_model("storage_app", "StoredFile")
    stored = {"size": 10, "checksum": "d" * 64}
    stored_file.objects.create(name="tmp-writing.bin", backend="local", state="writing")
    stored_file.objects.create(name="inventory/teapot.jpg", backend="local", state="stored", **stored)
    stored_file.objects.create(name="gone.bin", backend="s3", state="deleting", **stored)
    stored_file.objects.create(name="moving.bin", backend="local", state="stored", moving_to="s3", **stored)
    stored_file.objects.create(name="moved.bin", backend="s3", state="stored", leftover_on="local", **stored)
    old.get_model("storage_app", "PendingDeletion").objects.create(
        name="orphan.bin", attempts=3, last_error="timeout", next_attempt_at=now + dt.timedelta(minutes=5)
    )
    return {
        "alice": alice.pk,
        "upload_ct": upload_ct.pk,
        "permissions": {view.pk, change.pk, custom.pk},
        "uploads": list(upload_model.objects.order_by("id").values()),
    }


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_migrating_a_database_of_the_old_main_keeps_every_table_and_row():
    aliases = list(settings.DATABASES)  # document_vectors may live in a database of its own (documents.routers)
    executors = {alias: MigrationExecutor(connections[alias]) for alias in aliases}
    loader = executors["default"].loader
    if not any(node[0] == "storage_app" for node in loader.graph.nodes):
        pytest.skip("migrations are disabled (--nomigrations)")
    assert set(OLD_LEAVES) <= project_apps(loader)
    for label, name in OLD_LEAVES.items():
        assert (label, name) in loader.graph.nodes, f"old leaf {label}.{name} is gone from the migrations"
    targets = old_targets(loader)
    assert ("uploads", None) in targets
    old_apps = loader.project_state(old_state_nodes(loader)).apps

    try:
        # 1. back to the old main
        for executor in executors.values():
            executor.migrate(targets)
            executor.loader.build_graph()
        assert not any(node[0] == "uploads" for node in executors["default"].loader.applied_migrations)

        # 2. rows in every table there is
        expected = fill_old_database(old_apps)
        tables_before = {alias: data_tables(alias) for alias in aliases}
        counts_before = {alias: row_counts(alias, tables_before[alias]) for alias in aliases}
        empty = {(alias, table) for alias, counts in counts_before.items() for table, n in counts.items() if not n}
        assert not empty, f"tables the fixture leaves empty (fill them in fill_old_database): {sorted(empty)}"
        assert "upload_tracking" in tables_before["default"]
        uploads_before = table_rows("default", "upload_tracking")
        assert {row["kind"] for row in uploads_before} == {"image", "document", "file"}

        # 3. forward to the latest migrations
        for executor in executors.values():
            executor.migrate(executor.loader.graph.leaf_nodes())
            executor.loader.build_graph()

        # 4. nothing renamed or dropped, no row lost
        for alias in aliases:
            gone = tables_before[alias] - data_tables(alias)
            assert not gone, f"tables renamed or dropped on {alias!r}: {sorted(gone)}"
            counts_after = row_counts(alias, tables_before[alias])
            # Equal today; a later migration that copies rows into another table (storage_pending_deletion
            # into storage_stored_file) makes that table grow, but no table may lose a row.
            lost = {t: (n, counts_after[t]) for t, n in counts_before[alias].items() if counts_after[t] < n}
            assert not lost, f"rows lost on {alias!r} (before, after): {lost}"
        uploads_after = {row["id"]: row for row in table_rows("default", "upload_tracking")}
        assert sorted(uploads_after) == [row["id"] for row in uploads_before]
        for row in uploads_before:  # the old columns keep their values (a later migration may add columns)
            assert {column: uploads_after[row["id"]][column] for column in row} == row

        from uploads.models import UploadTracking

        assert UploadTracking._meta.db_table == "upload_tracking"
        fields = list(expected["uploads"][0])
        assert list(UploadTracking.objects.order_by("id").values(*fields)) == expected["uploads"]

        # The content type moved with the model (same row, so permissions and admin history follow).
        ContentType.objects.clear_cache()
        upload_ct = ContentType.objects.get_for_model(UploadTracking)
        assert (upload_ct.pk, upload_ct.app_label) == (expected["upload_ct"], "uploads")
        assert not ContentType.objects.filter(app_label="storage_app", model="uploadtracking").exists()
        # What `migrate` does after the migrations: post_migrate adds content types and permissions
        # still missing; none may be added for upload tracking.
        for alias in aliases:
            emit_post_migrate_signal(verbosity=0, interactive=False, db=alias)
        assert ContentType.objects.filter(model="uploadtracking").count() == 1
        assert (
            set(Permission.objects.filter(content_type=upload_ct).values_list("pk", flat=True))
            >= expected["permissions"]
        )
        alice = User.objects.get(pk=expected["alice"])
        assert alice.has_perm("uploads.view_uploadtracking")  # granted to the user
        assert alice.has_perm("uploads.retry_uploadtracking")  # a custom permission
        assert alice.has_perm("uploads.change_uploadtracking")  # through a group
        assert not alice.has_perm("uploads.delete_uploadtracking")
        assert not alice.has_perm("storage_app.view_uploadtracking")
        from django.contrib.admin.models import LogEntry

        edited = LogEntry.objects.get(content_type=upload_ct).get_edited_object()
        assert isinstance(edited, UploadTracking)
        assert edited.original_filename == "teapot.jpg"
    finally:
        # 5. leave the database migrated to the latest; pytest-django then flushes every model's table.
        for alias, executor in executors.items():
            executor.loader.build_graph()
            executor.migrate(executor.loader.graph.leaf_nodes())
            connection = connections[alias]
            with connection.cursor() as cursor:
                # a table no model knows any more is not flushed: empty it here
                known = set(connection.introspection.django_table_names(only_existing=True, include_views=False))
                for table in sorted(data_tables(alias) - known):
                    cursor.execute(f"TRUNCATE {connection.ops.quote_name(table)} CASCADE")
        ContentType.objects.clear_cache()
