"""Prometheus metrics of the storage library and of the jobs built on it (prometheus-client).

Definitions only, plus the small hooks the library calls; `/metrics` (instantory.metrics) exposes
them with the site's own collectors (uploads by status). Nothing here imports the site.

- `instantory_storage_requests_total`, `instantory_storage_errors_total` (kind `outage`, `refused`,
  `breaker_open`), `instantory_storage_request_seconds` (histogram): per backend and operation, from
  every `Backend.call` of FallbackStorage;
- `instantory_storage_failovers_total`: per backend passed over by a write moving on to the next;
- `instantory_storage_breaker_state`: per backend and state (`closed`, `half-open`, `open`), 1 for
  the current one, read at scrape time;
- `instantory_sweep_runs_total`, `instantory_sweep_items_total{action}`: `uploads_sweep`'s results;
- `instantory_reconcile_runs_total`, `instantory_reconcile_files_total{result}`: `storage_reconcile`'s;
- `instantory_scrub_runs_total`, `instantory_scrub_files_total{result}`: for the scrub job, which calls
  `scrub_recorded({"ok": n, "missing": n, "corrupt": n, "repaired": n})` after each run;
- `instantory_replication_backlog{backend}`: for the replication job, which calls
  `replication_backlog_set(alias, files_waiting)`.

Values are per process unless PROMETHEUS_MULTIPROC_DIR is set (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage_app.exceptions import StorageUnavailable

REQUESTS = Counter("instantory_storage_requests", "Storage backend calls.", ["backend", "operation"])
ERRORS = Counter("instantory_storage_errors", "Storage backend calls that raised.", ["backend", "operation", "kind"])
LATENCY = Histogram(
    "instantory_storage_request_seconds",
    "Duration of storage backend calls.",
    ["backend", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FAILOVERS = Counter("instantory_storage_failovers", "Writes that moved past a backend to the next.", ["backend"])
SWEEP_RUNS = Counter("instantory_sweep_runs", "Upload sweeps run (not dry runs).")
SWEEP_ITEMS = Counter("instantory_sweep_items", "What upload sweeps did, by action.", ["action"])
RECONCILE_RUNS = Counter("instantory_reconcile_runs", "reconcile_storage runs (not dry runs).")
RECONCILE_FILES = Counter("instantory_reconcile_files", "Files handled by reconcile_storage, by result.", ["result"])
SCRUB_RUNS = Counter("instantory_scrub_runs", "Scrub runs.")
SCRUB_FILES = Counter("instantory_scrub_files", "Files checked by the scrub, by result.", ["result"])
REPLICATION_BACKLOG = Gauge(
    "instantory_replication_backlog", "Files waiting to be copied to a backend.", ["backend"], multiprocess_mode="max"
)

BREAKER_STATES = ("closed", "half-open", "open")  # storage_app.breakers' states


# A save under a name the location record already reserved is a save to whoever graphs it.
_OPERATIONS = {"save_reserved": "save"}


@contextmanager
def backend_call(alias: str, func: Callable) -> Iterator[None]:
    """Count and time one call of a backend (FallbackStorage's Backend.call)."""
    from storage_app.breakers import CircuitOpen

    operation = getattr(func, "__name__", "call")
    operation = _OPERATIONS.get(operation, operation)
    REQUESTS.labels(alias, operation).inc()
    started = time.perf_counter()
    try:
        yield
    except CircuitOpen:
        ERRORS.labels(alias, operation, "breaker_open").inc()
        raise
    except StorageUnavailable:
        ERRORS.labels(alias, operation, "outage").inc()
        raise
    except Exception:
        ERRORS.labels(alias, operation, "refused").inc()
        raise
    finally:
        LATENCY.labels(alias, operation).observe(time.perf_counter() - started)


def failover(alias: str) -> None:
    FAILOVERS.labels(alias).inc()


def _count(counter: Counter, counts: Mapping[str, int]) -> None:
    for label, value in counts.items():
        if value:
            counter.labels(label).inc(value)


def sweep_recorded(counts: Mapping[str, int]) -> None:
    SWEEP_RUNS.inc()
    _count(SWEEP_ITEMS, counts)


def reconcile_recorded(counts: Mapping[str, int]) -> None:
    RECONCILE_RUNS.inc()
    _count(RECONCILE_FILES, counts)


def scrub_recorded(counts: Mapping[str, int]) -> None:
    """For the scrub job (#19): one run and its files by result."""
    SCRUB_RUNS.inc()
    _count(SCRUB_FILES, counts)


def replication_backlog_set(alias: str, waiting: int) -> None:
    """For the replication job (#19): files still to copy to `alias`."""
    REPLICATION_BACKLOG.labels(alias).set(waiting)


class BreakerCollector(Collector):
    """This process's circuit breakers, read at scrape time."""

    def collect(self):
        from storage_app.breakers import process_breakers

        family = GaugeMetricFamily(
            "instantory_storage_breaker_state",
            "Circuit breaker state per backend (1 = current).",
            labels=["backend", "state"],
        )
        for breaker in process_breakers.breakers():
            current = breaker.state
            for state in BREAKER_STATES:
                family.add_metric([breaker.name, state], 1.0 if current == state else 0.0)
        yield family
