"""A small OpenAI-compatible embeddings server (POST /v1/embeddings) on 127.0.0.1, run in a thread.

It answers with deterministic vectors (a hash of each text, not normalised) unless a test queues
scripted answers first: a status with optional headers and body, or a delay. Every request is
recorded so tests can check what the client sent.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


@dataclass
class Scripted:
    status: int = 200
    body: object = None  # None: the normal embeddings reply
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def text_vector(text: str, dimensions: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    return (np.random.default_rng(seed).standard_normal(dimensions) * 3.0).round(6).tolist()


class EmbeddingServer:
    def __init__(self, dimensions: int = 384) -> None:
        self.dimensions = dimensions
        self.requests: list[dict] = []
        self.script: list[Scripted] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> EmbeddingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reply(self, request: dict) -> dict:
        texts = request["input"]
        dims = request.get("dimensions", self.dimensions)
        return {
            "object": "list",
            "model": request["model"],
            # Reversed on purpose: clients must order by `index`.
            "data": [
                {"object": "embedding", "index": i, "embedding": text_vector(text, dims)}
                for i, text in reversed(list(enumerate(texts)))
            ],
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        }

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = json.loads(body)
                with server._lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers), "json": request})
                    scripted = server.script.pop(0) if server.script else Scripted()
                if scripted.delay:
                    time.sleep(scripted.delay)
                if self.path != "/v1/embeddings":
                    scripted = Scripted(404, {"error": {"message": "no such route"}})
                payload = server.reply(request) if scripted.body is None else scripted.body
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(scripted.status)
                    for name, value in scripted.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

        return Handler
