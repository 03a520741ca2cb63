"""The project's URLconf plus the blob routes, for tests of private-store URLs.

instantory/urls.py gains `path("blobs/", include("storage_app.blob_urls"))` when the lead merges it;
until then these tests route it themselves.
"""

from django.urls import include, path

from instantory.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *[pattern for pattern in project_urlpatterns if "blob_urls" not in str(getattr(pattern, "urlconf_name", ""))],
    path("blobs/", include("storage_app.blob_urls")),
]
