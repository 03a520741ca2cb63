"""Routes for serving stored blobs; included under `blobs/` by instantory/urls.py."""

from django.urls import path

from storage_app.backends.vercel_blob.views import private_blob_view

app_name = "vercel_blob"

urlpatterns = [
    path("private/<str:alias>/<path:name>", private_blob_view, name="private"),
]
