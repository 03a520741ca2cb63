from django.urls import path

from documents.api.search import DocumentSearchApi

urlpatterns = [
    path("search", DocumentSearchApi.as_view(), name="document-search"),
]
