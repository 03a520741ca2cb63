"""GET /api/documents/search: semantic (or hybrid) search over the requesting user's documents."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import RETRY_AFTER, unavailable
from documents.selectors.search import K_MAX, MODES, QUERY_MAX_LENGTH, SCORE_KINDS, document_search


@extend_schema_serializer(component_name="DocumentSearchHit")
class DocumentSearchHitSerializer(serializers.Serializer):
    document_id = serializers.IntegerField(source="document.id")
    title = serializers.CharField(source="document.title")
    category = serializers.CharField(source="document.category")
    content_type = serializers.CharField(source="document.content_type")
    score = serializers.FloatField(
        help_text="What the results are ranked by; its meaning is the response's `score_kind`. `semantic` mode: "
        "the cosine similarity of the best passage to the query (-1 to 1; about 0.4-0.7 for a good paraphrase "
        "with the local model). `hybrid` mode: reciprocal rank fusion of the semantic and the full-text "
        "rankings, scaled to 0-1 (1.0: ranked first by both; about 0.5: first by one, absent from the other)."
    )
    similarity = serializers.FloatField(
        help_text="Cosine similarity of the best passage to the query (-1 to 1), in both modes; "
        "equal to `score` in semantic mode."
    )
    snippet = serializers.CharField(help_text="The best-matching passage.")
    chunk_index = serializers.IntegerField(help_text="Position of that passage among the document's chunks.")
    page = serializers.IntegerField(
        allow_null=True, help_text="PDF: the page (from 1) on which that passage begins; null for other files."
    )
    heading = serializers.CharField(
        help_text="DOCX or Markdown: the heading of the section the passage begins in; empty when there is none."
    )
    matching_chunks = serializers.IntegerField(help_text="How many of its chunks were among the candidates.")
    url = serializers.SerializerMethodField()

    def get_url(self, hit) -> str:
        return self.context["request"].build_absolute_uri(reverse("document-detail", args=[hit.document.id]))


class DocumentSearchApi(APIView):
    @extend_schema_serializer(component_name="DocumentSearchInput")
    class InputSerializer(serializers.Serializer):
        q = serializers.CharField(max_length=QUERY_MAX_LENGTH, help_text="What to look for, in your own words.")
        k = serializers.IntegerField(
            min_value=1, max_value=K_MAX, default=10, help_text="How many documents to return at most."
        )
        mode = serializers.ChoiceField(
            choices=MODES,
            required=False,
            help_text="`semantic` (meaning only) or `hybrid` (meaning fused with full-text word matches).",
        )

    @extend_schema_serializer(component_name="DocumentSearchOutput")
    class OutputSerializer(serializers.Serializer):
        query = serializers.CharField()
        mode = serializers.ChoiceField(choices=MODES)
        score_kind = serializers.ChoiceField(
            choices=sorted(SCORE_KINDS.values()),
            help_text="What each hit's `score` is: `cosine_similarity` (semantic) or `rank_fusion` (hybrid, 0-1).",
        )
        model = serializers.CharField(help_text="The embedding model the query was compared with.")
        results = DocumentSearchHitSerializer(many=True, help_text="Best first, one entry per document.")

    @extend_schema(
        operation_id="documents_search",
        parameters=[InputSerializer, RETRY_AFTER],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="A missing or invalid `q`, `k` or `mode`, named per field."),
            503: unavailable("The embedding service"),
        },
    )
    def get(self, request):
        payload = self.InputSerializer(data=request.query_params)
        payload.is_valid(raise_exception=True)
        # An EmbedderError (the query cannot be embedded now) is the exception handler's: a 503.
        results = document_search(
            owner=request.user,
            query=payload.validated_data["q"],
            k=payload.validated_data["k"],
            mode=payload.validated_data.get("mode"),
        )
        return Response(self.OutputSerializer(results, context={"request": request}).data)
