"""A TCP proxy in front of a real server that injects the faults the server itself cannot (nanio for S3).

Modes, switched at run time (`proxy.mode = ...`):
- `pass`: bytes go through untouched;
- `refuse`: every new connection is reset at once (RST), as a dead host's port answers;
- `hang`: connections are accepted and read, never answered (a hung server);
- `503`: every request gets `503 Service Unavailable` with an S3 error body;
- `cut`: requests go through, and each reply is cut `cut_after` bytes into its body (mid-body).
Connections opened before a switch keep the mode they started with; `hang` ones are closed by `clear()`.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from tests.peers.net import free_port

S3_503 = (
    b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>ServiceUnavailable</Code>"
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, cut_after: int = 8) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.mode = "pass"
        self.cut_after = cut_after
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def clear(self) -> None:
        """Back to `pass`; connections left hanging are closed."""
        self.mode = "pass"
        with self._lock:
            for sock in list(self._open):
                # shutdown first: a plain close() while a pump thread is in recv() sends no FIN, and a
                # client would reuse a pooled connection that is dead.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
            self._open.clear()

    def close(self) -> None:
        self._stop.set()
        self.clear()
        self._thread.join(5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client, self.mode), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _serve(self, client: socket.socket, mode: str) -> None:
        self._track(client)
        try:
            if mode == "refuse":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if mode == "hang":
                while not self._stop.is_set() and client.recv(65536):
                    pass
                return
            if mode == "503":
                _read_head(client)
                client.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
                    + f"Content-Length: {len(S3_503)}\r\nConnection: close\r\n\r\n".encode()
                    + S3_503
                )
                return
            upstream = socket.create_connection(self.upstream, timeout=10)
            self._track(upstream)
            pump = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
            pump.start()
            _pump(upstream, client, cut_after=self.cut_after if mode == "cut" else None)
            with contextlib.suppress(OSError):
                upstream.close()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                client.close()


def _read_head(sock: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return
        data += chunk


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            return int(value.strip())
    return None


def _pump(source: socket.socket, sink: socket.socket, *, cut_after: int | None = None) -> None:
    """Copy until EOF; with `cut_after`, stop `cut_after` bytes into the first reply's body that has one."""
    buffered = b""
    try:
        while chunk := source.recv(65536):
            if cut_after is None:
                sink.sendall(chunk)
                continue
            buffered += chunk
            head_end = buffered.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            body_start = head_end + 4
            length = _content_length(buffered[:head_end])
            if length is not None and length <= cut_after:
                # A reply too short to cut mid-body (an empty PUT answer): passed on once complete.
                if len(buffered) - body_start >= length:
                    sink.sendall(buffered[: body_start + length])
                    buffered = buffered[body_start + length :]
                continue
            if len(buffered) - body_start > cut_after:
                sink.sendall(buffered[: body_start + cut_after])
                break
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            source.shutdown(socket.SHUT_RDWR)
