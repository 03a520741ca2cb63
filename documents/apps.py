from django.apps import AppConfig
from django.db.models.signals import post_delete


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents"

    def ready(self) -> None:
        from documents.models import Document
        from documents.services.vectors import document_vectors_delete_after_delete
        from documents.upload_kind import DOCUMENT
        from uploads import kinds

        kinds.register(DOCUMENT)

        # A document's vectors may live in another database, out of reach of ON DELETE CASCADE.
        post_delete.connect(document_vectors_delete_after_delete, sender=Document, dispatch_uid="document-vectors")
