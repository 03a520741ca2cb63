"""Home page and sign-in/out. The pages read through the domain selectors, as the API does."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.filters import InvalidFilters
from documents.selectors.documents import document_list
from inventory.selectors import inventory_item_list
from uploads.selectors import upload_list

HOME_LIMIT = 50  # rows per section; the API pages through the rest
MAX_QUERY = 200


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    filters = {"search": query} if query else None
    try:
        items = list(inventory_item_list(owner=request.user, filters=filters)[:HOME_LIMIT])
        documents = list(document_list(owner=request.user, filters=filters)[:HOME_LIMIT])
    except InvalidFilters:
        items, documents = [], []
    uploads = [] if query else list(upload_list(owner=request.user)[:HOME_LIMIT])
    context = {"query": query, "items": items, "documents": documents, "uploads": uploads}
    return render(request, "web/home.html", context)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "login"
