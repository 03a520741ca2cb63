"""Routes for signed URLs of local files; included under `files/` by instantory/urls.py."""

from django.urls import path

from storage_app.backends.local.views import local_file_view

app_name = "local_files"

urlpatterns = [
    path("<str:alias>/<path:name>", local_file_view, name="file"),
]
