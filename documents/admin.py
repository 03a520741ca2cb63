from pathlib import Path

from django import forms
from django.contrib import admin
from django.http import FileResponse
from django.urls import reverse
from django.utils.html import format_html

from documents.models import FILE_FACTS, Document, DocumentVector
from documents.services.documents import document_attach_file, document_delete
from storage_app.responses import stored_file_response
from uploads.admin.forms import TrackedFileField
from uploads.admin.tracked_files import TrackedFilesAdminMixin
from uploads.models import UploadKind
from uploads.selectors import with_original_filename
from uploads.validation import clean_filename


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
class DocumentAdmin(TrackedFilesAdminMixin, admin.ModelAdmin):
    form = DocumentAdminForm
    file_routes = {"download": "file"}
    upload_via = "document"
    file_form_field = "upload"
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
    readonly_fields = (*FILE_FACTS, "created_at", "updated_at")
    autocomplete_fields = ("owner",)  # defaults to the signed-in staff member (TrackedFilesAdminMixin)
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return with_original_filename(super().get_queryset(request), via="document")

    def file_response(self, document: Document, field: str) -> FileResponse:
        filename = getattr(document, "original_filename", None) or Path(document.file.name).name
        return stored_file_response(
            document.file, filename=filename, content_type=document.content_type, as_attachment=True
        )

    def file_preview(self, document):
        if not document.file.name:
            return ""
        filename = getattr(document, "original_filename", None) or Path(document.file.name).name
        url = reverse("admin:documents_document_download", args=[document.pk])
        return format_html(
            '<a class="document-download" href="{}">{}</a> — upload a new file to replace it', url, filename
        )

    @admin.display(description="File")
    def download_link(self, document):
        if not document.pk or not document.file.name:
            return "not stored yet"
        url = reverse("admin:documents_document_download", args=[document.pk])
        return format_html('<a class="document-download" href="{}">Download</a>', url)

    def attach_file(self, document: Document, file) -> None:
        document_attach_file(document=document, file=file)

    def delete_row(self, document: Document) -> None:
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
