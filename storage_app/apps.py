from django.apps import AppConfig


class StorageAppConfig(AppConfig):
    name = "storage_app"
    verbose_name = "Storage"

    def ready(self) -> None:
        # Celery's autodiscovery only imports `tasks` modules; the upload pipeline's tasks live apart.
        from storage_app import upload_tasks  # noqa: F401
