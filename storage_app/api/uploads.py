"""Tracked uploads over the API: a client sends a file and follows it to permanent storage."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from documents.models import Document
from inventory.models import InventoryItem
from storage_app.models import UploadKind, UploadStatus, UploadTracking
from storage_app.selectors import upload_get, upload_list
from storage_app.services.uploads import upload_create
from storage_app.validation import UploadRejected


class UploadOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = UploadTracking
        fields = [
            "id",
            "original_filename",
            "content_type",
            "size",
            "checksum",
            "kind",
            "status",
            "attempts",
            "last_error",
            "permanent_backend",
            "inventory_item",
            "document",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields


def rejected_response(exc: UploadRejected) -> Response:
    field = {"invalid_filename": "filename", "invalid_kind": "kind", "invalid_target": "target"}.get(exc.code, "file")
    return Response({field: [exc.message], "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)


class UploadListCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True, use_url=False)
        # Kind `file` is storage_manager's (no item or document); the API takes photos and documents.
        kind = serializers.ChoiceField(choices=[(UploadKind.IMAGE, "Image"), (UploadKind.DOCUMENT, "Document")])
        inventory_item = serializers.IntegerField(required=False, min_value=1)
        document = serializers.IntegerField(required=False, min_value=1)

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=UploadStatus.choices, required=False)

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=UploadStatus.values, required=False)],
        responses=UploadOutputSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        uploads = upload_list(owner=request.user, status=filters.validated_data.get("status"))
        paginator = api_settings.DEFAULT_PAGINATION_CLASS()
        page = paginator.paginate_queryset(uploads, request, view=self)
        return paginator.get_paginated_response(UploadOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={202: UploadOutputSerializer})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        item = document = None
        if "inventory_item" in data:
            item = InventoryItem.objects.filter(owner=request.user, pk=data["inventory_item"]).first()
            if item is None:
                return Response({"inventory_item": ["No such inventory item."]}, status=status.HTTP_400_BAD_REQUEST)
        if "document" in data:
            document = Document.objects.filter(owner=request.user, pk=data["document"]).first()
            if document is None:
                return Response({"document": ["No such document."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            upload = upload_create(
                owner=request.user, file=data["file"], kind=data["kind"], inventory_item=item, document=document
            )
        except UploadRejected as exc:
            return rejected_response(exc)
        upload.refresh_from_db()
        return Response(UploadOutputSerializer(upload).data, status=status.HTTP_202_ACCEPTED)


class UploadDetailApi(APIView):
    @extend_schema(responses=UploadOutputSerializer)
    def get(self, request, upload_id: int):
        upload = upload_get(owner=request.user, upload_id=upload_id)
        if upload is None:
            raise Http404
        return Response(UploadOutputSerializer(upload).data)
