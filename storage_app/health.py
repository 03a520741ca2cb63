"""Storage health: a write → read-back → delete probe of every backend, run concurrently with a deadline.

Overall status (also the exit code of `manage.py storage_health` and the HTTP status of
`GET /api/health/storage`):
- `healthy` (0, HTTP 200): the primary (first backend of the chain) passed its probe;
- `degraded` (1, HTTP 200): the primary failed but a fallback passed, so saves still succeed;
- `unavailable` (2, HTTP 503): no backend passed.
A backend whose probe was refused for a reason an operator must fix (a missing bucket or store,
refused credentials, a wrong token: StorageRejected or StorageSuspended) is `misconfigured`, with
that reason, rather than `failing` (down: refused connections, timeouts, 5xx); a misconfigured
backend anywhere in the chain makes the report at best `degraded`, so monitoring notices a fallback
that would not take a single file. `warn_if_misconfigured()` logs each one as a process starts
(Celery's worker_ready, the WSGI application).

Probes call each backend directly, not through its circuit breaker: they tell whether the
backend answers now, and they neither trip nor reset the breaker, whose state is reported beside.
A probe object is named `health-probes/<uuid>.txt` and deleted in the same probe (also when the
read-back fails); a probe still running when the deadline passes is reported as `timeout` and
its thread finishes, and deletes, on its own. Error texts are stripped of query strings and of
every credential the backends hold (StorageBackend.secrets()) before they are shown. Nothing here
knows one backend from another: names are STORAGES aliases, reasons come from the backends.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from storage_app.backends.base import storage_secrets
from storage_app.exceptions import StorageAccessDenied, StorageRejected, StorageSuspended
from storage_app.fallback import Backend, FallbackStorage, default_fallback_storage

PROBE_PREFIX = "health-probes"
HEALTHY, DEGRADED, UNAVAILABLE = "healthy", "degraded", "unavailable"
MISCONFIGURED = "misconfigured"
EXIT_CODES = {HEALTHY: 0, DEGRADED: 1, UNAVAILABLE: 2}
_URL_QUERY = re.compile(r"(https?://[^\s\"'?]+)\?[^\s\"']*")


@dataclass
class BackendHealth:
    name: str
    configured: bool
    role: str | None  # primary | fallback | None when not configured
    status: str  # ok | failing (down) | misconfigured | timeout | not_configured
    ok: bool | None
    latency_ms: float | None = None
    error: str | None = None
    breaker: dict | None = None
    reason: str | None = None  # why a backend is not configured


@dataclass
class StorageHealth:
    status: str
    primary: str | None
    checked_at: str
    probe_timeout: float
    backends: list[BackendHealth] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def http_status(self) -> int:
        return 503 if self.status == UNAVAILABLE else 200

    def as_dict(self) -> dict[str, Any]:
        """Everything, for staff and the command line (no secret is ever in it)."""
        return asdict(self)

    def public_dict(self) -> dict[str, Any]:
        """The summary for anyone (monitoring): statuses only, no error texts, endpoints or breaker details."""
        return {
            "status": self.status,
            "checked_at": self.checked_at,
            "backends": [
                {"name": b.name, "configured": b.configured, "role": b.role, "status": b.status, "ok": b.ok}
                for b in self.backends
            ],
        }


def storage_health(
    storage: FallbackStorage | None = None, *, timeout: float | None = None, use_cache: bool = False
) -> StorageHealth:
    """Probe every configured backend; `use_cache` reuses a report younger than STORAGE_HEALTH_CACHE_SECONDS."""
    if storage is None and use_cache:
        return _cache.get(lambda: _check(default_fallback_storage(), timeout))
    return _check(storage or default_fallback_storage(), timeout)


def _check(storage: FallbackStorage, timeout: float | None) -> StorageHealth:
    timeout = settings.STORAGE_HEALTH_PROBE_TIMEOUT if timeout is None else timeout
    chain = storage.backends
    secrets = [secret for backend in chain for secret in storage_secrets(backend.storage)]
    runs = [_ProbeRun(backend, secrets) for backend in chain]
    for run in runs:
        run.start()
    deadline = time.monotonic() + timeout
    for run in runs:
        run.thread.join(max(0.0, deadline - time.monotonic()))

    results = []
    for position, run in enumerate(runs):
        result = run.result(timeout)
        result.role = "primary" if position == 0 else "fallback"
        result.breaker = run.backend.breaker.snapshot().as_dict()
        results.append(result)
    for alias, reason in storage.left_out.items():
        results.append(BackendHealth(alias, False, None, "not_configured", None, reason=reason))

    primary_ok = bool(results[0].ok)
    any_ok = any(result.ok for result in results)
    status = HEALTHY if primary_ok else DEGRADED if any_ok else UNAVAILABLE
    if status == HEALTHY and any(result.status == MISCONFIGURED for result in results):
        status = DEGRADED
    return StorageHealth(
        status=status,
        primary=chain[0].alias,
        checked_at=timezone.now().isoformat(),
        probe_timeout=timeout,
        backends=results,
    )


class _ProbeRun:
    """One backend's probe in a daemon thread, so a hung backend never holds the caller (or process exit)."""

    def __init__(self, backend: Backend, secrets: list[str] | None = None) -> None:
        self.backend = backend
        self.secrets = storage_secrets(backend.storage) if secrets is None else secrets
        self.started = 0.0
        self.finished: float | None = None
        self.error: str | None = None
        self.misconfigured: str | None = None
        self.thread = threading.Thread(target=self._run, name=f"storage-probe-{backend.alias}", daemon=True)

    def start(self) -> None:
        self.started = time.perf_counter()
        self.thread.start()

    def _run(self) -> None:
        try:
            probe_backend(self.backend)
        except BaseException as exc:  # reported, never raised: the report must come back
            self.error = redact(f"{type(exc).__name__}: {exc}", self.secrets)
            self.misconfigured = misconfiguration(exc)
        self.finished = time.perf_counter()

    def result(self, timeout: float) -> BackendHealth:
        alias = self.backend.alias
        if self.finished is None:
            return BackendHealth(alias, True, None, "timeout", False, error=f"no answer within {timeout:g} s")
        latency = round((self.finished - self.started) * 1000, 1)
        if self.error and self.misconfigured:
            return BackendHealth(
                alias, True, None, MISCONFIGURED, False, latency_ms=latency, error=self.error, reason=self.misconfigured
            )
        if self.error:
            return BackendHealth(alias, True, None, "failing", False, latency_ms=latency, error=self.error)
        return BackendHealth(alias, True, None, "ok", True, latency_ms=latency)


def backend_probe(backend: Backend, *, timeout: float | None = None) -> BackendHealth:
    """Probe one backend with a deadline (role and breaker left unset)."""
    timeout = settings.STORAGE_HEALTH_PROBE_TIMEOUT if timeout is None else timeout
    run = _ProbeRun(backend)
    run.start()
    run.thread.join(timeout)
    return run.result(timeout)


def probe_backend(backend: Backend) -> None:
    """Write a small object, read it back, delete it; raises on any failure (and still deletes)."""
    token = uuid.uuid4().hex
    data = f"instantory storage probe {token}\n".encode()
    storage = backend.storage
    stored = None
    try:
        stored = storage.save(f"{PROBE_PREFIX}/{token}.txt", ContentFile(data))
        with storage.open(stored, "rb") as handle:
            echoed = handle.read()
        if echoed != data:
            raise ValueError(f"read back {len(echoed)} bytes that differ from the {len(data)} written")
    finally:
        if stored is not None:
            storage.delete(stored)


def misconfiguration(exc: BaseException) -> str | None:
    """Why a probe's error is the configuration's fault (an operator must act), or None for an outage."""
    if isinstance(exc, StorageSuspended):
        return "the bucket or store does not exist or is suspended"
    if isinstance(exc, StorageAccessDenied):
        return "credentials refused (wrong token, key or secret, or missing permissions)"
    if isinstance(exc, StorageRejected):
        return "the backend refused the probe's request"
    return None


def warn_if_misconfigured(storage: FallbackStorage | None = None) -> list[str]:
    """Probe the chain once and log a warning per misconfigured backend; the aliases warned about."""
    import logging

    log = logging.getLogger(__name__)
    try:
        report = storage_health(storage)
    except Exception as exc:  # a start-up check must never stop the process
        log.warning("storage health check at start-up failed: %s", exc)
        return []
    warned = []
    for backend in report.backends:
        if backend.status == MISCONFIGURED:
            log.warning("storage backend %s is misconfigured: %s (%s)", backend.name, backend.reason, backend.error)
            warned.append(backend.name)
    return warned


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Drop URL query strings (presigned credentials) and the given secrets (the backends') from an error text."""
    text = _URL_QUERY.sub(r"\1?…", text)
    for secret in sorted(secrets, key=len, reverse=True):  # a whole token before the secret part inside it
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text[:500]


class _Flight:
    """One probe run in progress; callers arriving meanwhile wait for its report instead of probing again."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.report: StorageHealth | None = None


class _ReportCache:
    """Reports reused for STORAGE_HEALTH_CACHE_SECONDS, and one probe run at a time per process.

    Callers that arrive while a run is in progress share its report (even with a cache window of
    0), so each answers within one probe deadline however many ask at once, and a hung backend
    never gets more than one probe per run.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._report: StorageHealth | None = None
        self._at = 0.0
        self._flight: _Flight | None = None

    def get(self, compute) -> StorageHealth:
        with self._lock:
            if self._report is not None and time.monotonic() - self._at < settings.STORAGE_HEALTH_CACHE_SECONDS:
                return self._report
            flight, leader = self._flight, self._flight is None
            if leader:
                flight = self._flight = _Flight()
        if not leader:
            flight.done.wait()
            return flight.report if flight.report is not None else compute()
        try:
            flight.report = compute()
            with self._lock:
                self._report, self._at = flight.report, time.monotonic()
            return flight.report
        finally:
            with self._lock:
                self._flight = None
            flight.done.set()

    def clear(self) -> None:
        with self._lock:
            self._report = None


_cache = _ReportCache()


def health_cache_clear() -> None:
    _cache.clear()
