from django.contrib import admin

from documents.models import Document, DocumentVector


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "author", "category", "content_type", "size", "processing_status", "created_at")
    list_filter = ("processing_status", "category", "content_type", "created_at")
    search_fields = ("title", "author", "summary", "category", "checksum", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = ("checksum", "size", "page_count", "created_at", "updated_at")
    raw_id_fields = ("owner",)
    date_hierarchy = "created_at"


@admin.register(DocumentVector)
class DocumentVectorAdmin(admin.ModelAdmin):
    list_display = ("id", "document_id", "owner_id", "chunk_index", "embedding_model", "created_at")
    list_filter = ("embedding_model",)
    search_fields = ("chunk_text",)
    readonly_fields = ("document_id", "owner_id", "chunk_index", "chunk_text", "embedding_model", "created_at")
    exclude = ("embedding",)
    ordering = ("document_id", "chunk_index")
    show_full_result_count = False
