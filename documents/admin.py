from pathlib import Path

from django import forms
from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from documents.models import Document, DocumentVector
from documents.services.documents import document_attach_file, document_delete
from storage_app.admin_forms import TrackedFileField
from storage_app.exceptions import StorageUnavailable
from storage_app.file_responses import stored_file_response
from storage_app.models import UploadKind, UploadStatus, UploadTracking
from storage_app.validation import clean_filename


class DocumentAdminForm(forms.ModelForm):
    upload = TrackedFileField(
        kind=UploadKind.DOCUMENT,
        required=False,
        label="File",
        help_text="PDF, DOCX, plain text or Markdown. Stored through the tracked upload pipeline; "
        "a new file replaces the old one.",
    )

    class Meta:
        model = Document
        fields = ("owner", "title", "author", "category", "tags", "summary")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["title"].help_text = "Left empty, the file's name is used."
        if self.instance.pk is None:
            self.fields["upload"].required = True

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if not cleaned.get("title"):
            if upload:
                name = clean_filename(upload.name or "")
                cleaned["title"] = (Path(name).stem or name)[:255]
                self.instance.title = cleaned["title"]
            else:
                self.add_error("title", "A document needs a title.")
        return cleaned


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    form = DocumentAdminForm
    list_display = (
        "title",
        "owner",
        "category",
        "content_type",
        "size",
        "processing_status",
        "upload_status",
        "download_link",
        "created_at",
    )
    list_filter = ("processing_status", "category", "content_type", "created_at")
    search_fields = ("title", "author", "summary", "category", "checksum", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = (
        "download_link",
        "file",
        "content_type",
        "size",
        "checksum",
        "page_count",
        "processing_status",
        "processing_error",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("owner",)
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        uploads = UploadTracking.objects.filter(document=OuterRef("pk")).order_by("-created_at", "-id")
        stored = uploads.filter(status=UploadStatus.COMPLETE)
        return (
            super()
            .get_queryset(request)
            .annotate(
                latest_upload_status=Subquery(uploads.values("status")[:1]),
                original_filename=Subquery(stored.values("original_filename")[:1]),
            )
        )

    def get_urls(self):
        view = self.admin_site.admin_view(self.download_view)
        return [
            path("<path:object_id>/download/", view, name="documents_document_download"),
            *super().get_urls(),
        ]

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def download_view(self, request, object_id):
        document = self.get_object(request, object_id)
        if document is None or not self.has_view_permission(request, document):
            raise Http404
        filename = getattr(document, "original_filename", None) or Path(document.file.name).name
        try:
            return stored_file_response(
                document.file, filename=filename, content_type=document.content_type, as_attachment=True
            )
        except StorageUnavailable:
            return HttpResponse("The storage holding this file is unavailable.", status=503, content_type="text/plain")

    @admin.display(description="File")
    def download_link(self, document):
        if not document.pk or not document.file.name:
            return "not stored yet"
        url = reverse("admin:documents_document_download", args=[document.pk])
        return format_html('<a class="document-download" href="{}">Download</a>', url)

    @admin.display(description="Upload", ordering="latest_upload_status")
    def upload_status(self, document):
        return getattr(document, "latest_upload_status", None) or "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        upload = form.cleaned_data.get("upload")
        if upload:
            document_attach_file(document=obj, file=upload)

    def delete_model(self, request, obj):
        document_delete(document=obj)

    def delete_queryset(self, request, queryset):
        for document in queryset:
            document_delete(document=document)


@admin.register(DocumentVector)
class DocumentVectorAdmin(admin.ModelAdmin):
    list_display = ("id", "document_id", "owner_id", "chunk_index", "embedding_model", "created_at")
    list_filter = ("embedding_model",)
    search_fields = ("chunk_text",)
    readonly_fields = ("document_id", "owner_id", "chunk_index", "chunk_text", "embedding_model", "created_at")
    exclude = ("embedding",)
    ordering = ("document_id", "chunk_index")
    show_full_result_count = False
