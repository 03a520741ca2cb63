"""What every request handler of one local Vercel Blob server shares: store, token, faults, counters."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field

from devtools.vercel_blob_server.client_tokens import CallbackLog
from devtools.vercel_blob_server.faults import FaultPlan
from devtools.vercel_blob_server.store import BlobStore

RW_TOKEN_PREFIX = "vercel_blob_rw_"  # noqa: S105 - a prefix, not a secret
BLOB_HOST_SUFFIX = ".blob.vercel-storage.com"


def store_id_from_token(token: str) -> str:
    """`vercel_blob_rw_<storeId>_<secret>` -> storeId (the SDKs take `token.split('_')[3]`)."""
    store_id, separator, secret = token.removeprefix(RW_TOKEN_PREFIX).partition("_")
    valid = token.startswith(RW_TOKEN_PREFIX) and separator and secret.strip("_")
    if not valid or not store_id.replace("-", "").isalnum():
        # The token is a secret: the message never repeats it.
        raise ValueError("a read-write token has the form vercel_blob_rw_<storeId>_<secret>")
    return store_id


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it; the authorization header is never kept."""

    method: str
    route: str
    path: str
    headers: dict[str, str]


@dataclass
class ServerState:
    token: str
    access: str
    store: BlobStore
    url_base: str = ""  # set once the port is known
    faults: FaultPlan = field(default_factory=FaultPlan)
    counts: Counter = field(default_factory=Counter)
    in_flight: Counter = field(default_factory=Counter)
    peak_in_flight: Counter = field(default_factory=Counter)
    log: deque = field(default_factory=lambda: deque(maxlen=2000))
    lock: threading.Lock = field(default_factory=threading.Lock)
    refusing: bool = False
    callbacks: CallbackLog = field(default_factory=CallbackLog)

    @property
    def store_id(self) -> str:
        return store_id_from_token(self.token)

    @property
    def blob_host(self) -> str:
        """The host name the real service serves this store's content on."""
        return f"{self.store_id.lower()}.{self.access}{BLOB_HOST_SUFFIX}"

    def record(self, method: str, route: str, path: str, headers: dict[str, str]) -> None:
        safe_headers = {
            name.lower(): ("***" if name.lower() == "authorization" else value) for name, value in headers.items()
        }
        with self.lock:
            self.counts[route] += 1
            self.log.append(RequestRecord(method, route, path, safe_headers))

    def started(self, route: str) -> None:
        with self.lock:
            self.in_flight[route] += 1
            self.peak_in_flight[route] = max(self.peak_in_flight[route], self.in_flight[route])

    def finished(self, route: str) -> None:
        with self.lock:
            self.in_flight[route] -= 1

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
            self.log.clear()
            self.peak_in_flight.clear()
