"""`/metrics`: Prometheus' text format, for staff only (session, or a staff user's API token).

The storage library's metrics (storage_app.metrics) plus what only the site can see: tracked uploads
by status, counted in the database at scrape time (so every process reports the same backlog).
With PROMETHEUS_MULTIPROC_DIR set, the counters of every process writing there are summed
(prometheus-client's multiprocess mode); otherwise they are this web process's.
"""

from __future__ import annotations

import os

from django.db.models import Count
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from rest_framework.permissions import IsAdminUser
from rest_framework.views import APIView

from storage_app.metrics import BreakerCollector
from uploads.models import UploadStatus, UploadTracking


class UploadsCollector(Collector):
    def collect(self):
        family = GaugeMetricFamily("instantory_uploads", "Tracked uploads by status.", labels=["status"])
        counts = dict(UploadTracking.objects.values_list("status").annotate(n=Count("pk")).order_by())
        for status in UploadStatus.values:
            family.add_metric([status], float(counts.get(status, 0)))
        yield family


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry(auto_describe=True)
        registry.register(_ProcessMetrics())
    registry.register(BreakerCollector())
    registry.register(UploadsCollector())
    return registry


class _ProcessMetrics(Collector):
    """The default registry (this process's counters, histograms, process and platform metrics)."""

    def collect(self):
        yield from REGISTRY.collect()


class MetricsView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(exclude=True)
    def get(self, request):
        return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
