"""The upload page: many files at once, each sent straight to the store (frontend/direct-upload.js)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.middleware.csrf import get_token
from django.shortcuts import render

from uploads import kinds


def upload_page_context(request) -> dict:
    """What the page's script needs: the user's folders, the store's access and API URL, the CSRF token."""
    return {
        "upload_config": {
            "folders": {
                spec.name: f"{spec.folder}/{request.user.pk}/" for spec in kinds.registered() if spec.target_field
            },
            "access": settings.VERCEL_BLOB_ACCESS,
            "csrf": get_token(request),
            # The bundled client reads its API URL as process.env does in Node (esbuild --define).
            "env": {"VERCEL_BLOB_API_URL": settings.VERCEL_BLOB_API_URL, "VERCEL_BLOB_RETRIES": "3"},
        },
        "max_size": settings.UPLOAD_MAX_SIZE,
    }


@login_required
def upload_page(request):
    return render(request, "uploads/upload.html", upload_page_context(request))
