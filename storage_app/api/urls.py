from django.urls import path

from storage_app.api.health import StorageHealthApi

urlpatterns = [
    path("storage", StorageHealthApi.as_view(), name="storage-health"),
]
