from django.apps import AppConfig


class StorageAppConfig(AppConfig):
    name = "storage_app"
    verbose_name = "Storage"

    def ready(self) -> None:
        # Celery's autodiscovery runs when a worker starts; a web process queues replication by name
        # (storage_app.replication_queue), so the tasks must be registered in every process.
        from storage_app import replication_queue, tasks  # noqa: F401
        from storage_app.fallback import default_fallback_storage
        from storage_app.replication import replicas_ensure

        replication_queue.register_replicator(replicas_ensure)

        # The chain is built now, not on the first save: a backend left out (no token, no bucket) is
        # reported once as the process starts, and a chain with no backend at all stops it here.
        # Nothing here touches the network or the database.
        default_fallback_storage().backends  # noqa: B018
