"""GET /api/health/storage: the storage layer's health for monitoring (summary) and staff (details).

Anyone may read the summary: the overall status and each backend's name, role and verdict, the
HTTP status saying the rest (200 healthy or degraded, 503 unavailable). Staff also get probe
latencies, error texts (stripped of credentials), breaker states and why a backend is left out.
Reports are reused for STORAGE_HEALTH_CACHE_SECONDS so the endpoint cannot be used to flood the
backends with probes; staff may ask for a fresh one with `?fresh=1`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from storage_app.health import storage_health

STAFF_ONLY = "Staff only."


class BreakerSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["closed", "open", "half-open"])
    consecutive_failures = serializers.IntegerField()
    fail_max = serializers.IntegerField()
    reset_timeout = serializers.FloatField(help_text="Seconds the breaker stays open before one trial request.")
    retry_in = serializers.FloatField(allow_null=True, help_text="Seconds until the trial request, when open.")


class BackendHealthSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="STORAGES alias: vercel, s3 or local.")
    configured = serializers.BooleanField()
    role = serializers.ChoiceField(choices=["primary", "fallback"], allow_null=True)
    status = serializers.ChoiceField(choices=["ok", "failing", "misconfigured", "timeout", "not_configured"])
    ok = serializers.BooleanField(allow_null=True, help_text="Probe passed; null when not configured.")
    latency_ms = serializers.FloatField(required=False, allow_null=True, help_text=f"Write, read, delete. {STAFF_ONLY}")
    error = serializers.CharField(required=False, allow_null=True, help_text=STAFF_ONLY)
    breaker = BreakerSerializer(required=False, allow_null=True, help_text=STAFF_ONLY)
    reason = serializers.CharField(required=False, allow_null=True, help_text=f"Why left out. {STAFF_ONLY}")


class StorageHealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["healthy", "degraded", "unavailable"])
    checked_at = serializers.DateTimeField()
    primary = serializers.CharField(required=False, help_text=STAFF_ONLY)
    probe_timeout = serializers.FloatField(required=False, help_text=f"Seconds. {STAFF_ONLY}")
    backends = BackendHealthSerializer(many=True)


class StorageHealthApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="storage_health",
        parameters=[OpenApiParameter("fresh", bool, required=False, description=f"Probe now. {STAFF_ONLY}")],
        responses={200: StorageHealthSerializer, 503: StorageHealthSerializer},
        description="Write, read back and delete a probe object on every storage backend.",
    )
    def get(self, request):
        staff = bool(request.user and request.user.is_staff)
        raw = request.query_params.get("fresh")
        if raw is not None and raw not in {"true", "false", "1", "0"}:
            raise ValidationError({"fresh": ["Must be true or false."]})
        fresh = staff and raw in {"true", "1"}
        report = storage_health(use_cache=not fresh)
        body = report.as_dict() if staff else report.public_dict()
        response = Response(body, status=report.http_status)
        response["Cache-Control"] = "no-store"
        return response
