"""What the admins of rows with tracked files (inventory items, documents) share."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import ClassVar

from django.contrib import admin
from django.db.models import Model
from django.http import FileResponse, Http404, HttpResponse
from django.urls import path

from storage_app.exceptions import StorageUnavailable
from storage_app.responses import stored_file_response
from uploads.selectors import with_upload_status


class TrackedFilesAdminMixin:
    """For a ModelAdmin whose rows belong to a user and get their files through the tracked upload pipeline.

    - the owner defaults to the staff member adding the row;
    - `file_routes` maps a URL suffix to a file field: each file is streamed to staff at
      `<object_id>/<suffix>/`, named `admin:<app>_<model>_<suffix>`;
    - `upload_via` is UploadTracking's foreign key to the row: the newest upload's status is a column;
    - a file given in the form field `file_form_field` goes to `attach_file(row, file)` once the row is
      saved, and deletes, one or in bulk, go through `delete_row(row)`: the app's services, so the
      stored files follow the rows.
    """

    file_routes: ClassVar[dict[str, str]] = {}
    upload_via: ClassVar[str]
    file_form_field: ClassVar[str]

    def attach_file(self, row: Model, file) -> None:
        raise NotImplementedError

    def delete_row(self, row: Model) -> None:
        raise NotImplementedError

    def file_response(self, row: Model, field: str) -> FileResponse:
        return stored_file_response(getattr(row, field))

    def get_queryset(self, request):
        return with_upload_status(super().get_queryset(request), via=self.upload_via)

    def get_urls(self):
        opts = self.model._meta
        file_urls = [
            path(
                f"<path:object_id>/{suffix}/",
                self.admin_site.admin_view(self._file_view(field)),
                name=f"{opts.app_label}_{opts.model_name}_{suffix}",
            )
            for suffix, field in self.file_routes.items()
        ]
        return [*file_urls, *super().get_urls()]

    def _file_view(self, field: str) -> Callable:
        def view(request, object_id):
            row = self.get_object(request, object_id)
            if row is None or not self.has_view_permission(request, row):
                raise Http404
            try:
                return self.file_response(row, field)
            except StorageUnavailable:
                return HttpResponse(
                    "The storage holding this file is unavailable.", status=503, content_type="text/plain"
                )

        return view

    def file_preview(self, row: Model) -> str:
        """Safe HTML showing the stored file beside the form's file field ("" for none)."""
        return ""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        preview = self.file_preview(obj) if obj is not None and obj.pk else ""
        if preview and self.file_form_field in form.base_fields:
            # A copy: the declared field object is shared by every form class made from the admin's form.
            field = copy.deepcopy(form.base_fields[self.file_form_field])
            field.widget.preview = preview
            form.base_fields = {**form.base_fields, self.file_form_field: field}
        return form

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    @admin.display(description="Upload", ordering="upload_status")
    def upload_status(self, row):
        return getattr(row, "upload_status", None) or "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        file = form.cleaned_data.get(self.file_form_field)
        if file:
            self.attach_file(obj, file)

    def delete_model(self, request, obj):
        self.delete_row(obj)

    def delete_queryset(self, request, queryset):
        for row in queryset:
            self.delete_row(row)
