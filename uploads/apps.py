from django.apps import AppConfig


class UploadsConfig(AppConfig):
    """The upload pipeline: validation, the temporary area, promotion, sweep and upload tracking.

    It stores through the storage library (storage_app) and knows no domain app: inventory and
    documents register their upload kinds with uploads.kinds from their own ready().
    """

    name = "uploads"
    verbose_name = "Uploads"

    def ready(self) -> None:
        # Celery's autodiscovery runs when a worker starts; a web process queues the promotion by
        # name (uploads.services.queue), so the task must be registered in every process.
        from uploads import tasks  # noqa: F401
