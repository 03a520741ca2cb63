from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from instantory.metrics import MetricsView
from uploads.views import upload_page

urlpatterns = [
    # admin.site is instantory.admin_site.sites.InstantoryAdminSite (the admin app's default_site).
    path("", include("instantory.web.urls")),
    path("admin/", admin.site.urls),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/auth/", include("instantory.accounts.urls")),
    path("api/health/", include("storage_app.api.urls")),
    # Signed URLs of a private Vercel Blob store are served here (storage_app.backends.vercel_blob.views).
    path("blobs/", include("storage_app.backends.vercel_blob.urls")),
    # Signed URLs of files on the local disk (storage_app.backends.local.views).
    path("files/", include("storage_app.backends.local.urls")),
    path("api/uploads/", include("uploads.urls")),
    path("upload/", upload_page, name="upload-page"),
    path("api/inventory/", include("inventory.urls")),
    # Search is matched before the document routes so "search" is never read as a document id.
    path("api/documents/", include("documents.search_urls")),
    path("api/documents/", include("documents.urls")),
]

# JSON under /api/, Django's HTML pages elsewhere (with DEBUG off; DEBUG shows Django's technical pages).
handler400 = "instantory.api.error_views.bad_request"
handler403 = "instantory.api.error_views.permission_denied"
handler404 = "instantory.api.error_views.page_not_found"
handler500 = "instantory.api.error_views.server_error"
