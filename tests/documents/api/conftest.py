import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from documents.models import Document
from tests.uploads.files import PDF_BYTES


@pytest.fixture
def stored_document(user):
    """A document whose file is already in the default storage (no pipeline run)."""
    document = Document.objects.create(
        owner=user, title="Supplier contract", content_type="application/pdf", size=len(PDF_BYTES)
    )
    document.file.name = default_storage.save(f"documents/{user.pk}/1/contract.pdf", ContentFile(PDF_BYTES))
    document.save()
    return document
