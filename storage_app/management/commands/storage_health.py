"""Probe every storage backend (write, read back, delete) and say whether storage is healthy."""

import json as jsonlib

from django.core.management.base import BaseCommand

from core.management import add_json_argument, add_seconds_argument
from storage_app.health import storage_health


class Command(BaseCommand):
    help = (
        "Write, read back and delete a probe object on every configured storage backend. Exit code: "
        "0 healthy, 1 degraded (primary down, a fallback works), 2 unavailable."
    )

    def add_arguments(self, parser):
        add_json_argument(parser, "Print the full report as JSON.")
        add_seconds_argument(parser, "--timeout", setting="STORAGE_HEALTH_PROBE_TIMEOUT", number=float)

    def handle(self, *args, json: bool, timeout: float | None, **options):
        report = storage_health(timeout=timeout)
        if json:
            self.stdout.write(jsonlib.dumps(report.as_dict(), indent=2))
        else:
            style = {0: self.style.SUCCESS, 1: self.style.WARNING}.get(report.exit_code, self.style.ERROR)
            self.stdout.write(style(f"storage: {report.status} (primary {report.primary})"))
            for backend in report.backends:
                latency = f"{backend.latency_ms:.1f} ms" if backend.latency_ms is not None else "-"
                breaker = backend.breaker["state"] if backend.breaker else "-"
                detail = backend.error or backend.reason or ""
                self.stdout.write(
                    f"  {backend.name:<7} {backend.role or '-':<8} {backend.status:<15} {latency:>10}  "
                    f"breaker {breaker:<9} {detail}".rstrip()
                )
        if report.exit_code:
            raise SystemExit(report.exit_code)
