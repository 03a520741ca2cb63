"""Failures the local Vercel Blob server can be told to produce, switched at run time.

A rule applies to the routes it names (`put`, `copy`, `rename`, `head`, `list`, `delete`,
`mpu.create`, `mpu.upload`, `mpu.complete`, `content`; `mpu` means all three multipart actions and
`api` every API route), for a number of requests or until cleared. The first matching rule wins.
Refusing connections is a property of the listening socket, so it lives on the server
(`VercelBlobServer.refuse_connections`), not here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

API_ROUTES = frozenset(
    {"put", "copy", "rename", "head", "list", "delete", "mpu.create", "mpu.upload", "mpu.complete", "api.unknown"}
)
ALL_ROUTES = API_ROUTES | {"content"}

_ERROR_MESSAGES = {
    "service_unavailable": "The blob service is currently not available. Please try again.",
    "internal_server_error": "Internal server error.",
    "rate_limited": "Too many requests, please slow down.",
    "store_suspended": "This store has been suspended.",
    "store_not_found": "This store does not exist.",
    "forbidden": "Access denied, please provide a valid token for this resource.",
}


@dataclass
class FaultRule:
    kind: str  # "error", "slow" or "cut"
    routes: frozenset[str] | None  # None: every route
    remaining: int | None  # None: until cleared
    status: int = 503
    code: str = "service_unavailable"
    message: str = ""
    retry_after: str | None = None
    delay: float = 0.0
    cut_after: int = 0  # bytes of the reply body sent before the connection is cut
    hits: int = field(default=0)

    def applies_to(self, route: str) -> bool:
        if self.routes is None:
            return True
        return any(
            route == wanted or route.startswith(wanted + ".") or (wanted == "api" and route in API_ROUTES)
            for wanted in self.routes
        )

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "routes": sorted(self.routes) if self.routes is not None else None,
            "remaining": self.remaining,
            "status": self.status,
            "code": self.code,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "cut_after": self.cut_after,
            "hits": self.hits,
        }


def _routes(routes: Iterable[str] | str | None) -> frozenset[str] | None:
    if routes is None:
        return None
    chosen = frozenset([routes] if isinstance(routes, str) else routes)
    unknown = {route for route in chosen if route not in ALL_ROUTES and route not in {"api", "mpu"}}
    if unknown:
        raise ValueError(f"unknown route(s) {sorted(unknown)}; known: api, mpu, {', '.join(sorted(ALL_ROUTES))}")
    return chosen


def _times(times: int | None) -> int | None:
    if times is not None and times < 1:
        raise ValueError("times must be at least 1 (or None for 'until cleared')")
    return times


class FaultPlan:
    """The active fault rules of one server. Every method is safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def fail(
        self,
        status: int = 503,
        code: str = "service_unavailable",
        *,
        message: str | None = None,
        routes: Iterable[str] | str | None = None,
        times: int | None = None,
        retry_after: float | str | None = None,
    ) -> FaultRule:
        """Answer with an error reply (`{"error": {"code", "message"}}`) instead of serving."""
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        rule = FaultRule(
            kind="error",
            routes=_routes(routes),
            remaining=_times(times),
            status=status,
            code=code,
            message=message if message is not None else _ERROR_MESSAGES.get(code, f"Injected {code}."),
            retry_after=None if retry_after is None else str(retry_after),
        )
        return self._add(rule)

    def rate_limit(
        self,
        retry_after: float | str | None = 1,
        *,
        routes: Iterable[str] | str | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """429 `rate_limited`, with a `retry-after` header when given."""
        return self.fail(429, "rate_limited", routes=routes, times=times, retry_after=retry_after)

    def slow(self, seconds: float, *, routes: Iterable[str] | str | None = None, times: int | None = None) -> FaultRule:
        """Wait `seconds` before answering (after the request body has been read)."""
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        return self._add(FaultRule(kind="slow", routes=_routes(routes), remaining=_times(times), delay=seconds))

    def cut(
        self, after_bytes: int = 0, *, routes: Iterable[str] | str | None = None, times: int | None = None
    ) -> FaultRule:
        """Send the reply's headers (with its full length) and `after_bytes` of its body, then close."""
        if after_bytes < 0:
            raise ValueError("after_bytes must not be negative")
        return self._add(FaultRule(kind="cut", routes=_routes(routes), remaining=_times(times), cut_after=after_bytes))

    def _add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def active(self) -> list[dict]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def take(self, route: str) -> FaultRule | None:
        """The rule that applies to this request, used up by one if it is counted."""
        with self._lock:
            for rule in self._rules:
                if rule.applies_to(route):
                    rule.hits += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    return rule
        return None

    def configure(self, spec: dict) -> FaultRule:
        """A rule from JSON (the control endpoint): {"kind": "error"|"rate_limit"|"slow"|"cut", ...}."""
        kind = spec.get("kind")
        common = {"routes": spec.get("routes"), "times": spec.get("times")}
        if kind == "error":
            return self.fail(
                int(spec.get("status", 503)),
                str(spec.get("code", "service_unavailable")),
                message=spec.get("message"),
                retry_after=spec.get("retry_after"),
                **common,
            )
        if kind == "rate_limit":
            return self.rate_limit(spec.get("retry_after", 1), **common)
        if kind == "slow":
            return self.slow(float(spec["seconds"]), **common)
        if kind == "cut":
            return self.cut(int(spec.get("after_bytes", 0)), **common)
        raise ValueError("kind must be one of: error, rate_limit, slow, cut")
