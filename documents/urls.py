from django.urls import path

from documents.api.documents import DocumentDetailApi, DocumentDownloadApi, DocumentListCreateApi

urlpatterns = [
    path("", DocumentListCreateApi.as_view(), name="document-list"),
    path("<int:document_id>/", DocumentDetailApi.as_view(), name="document-detail"),
    path("<int:document_id>/download", DocumentDownloadApi.as_view(), name="document-download"),
]
