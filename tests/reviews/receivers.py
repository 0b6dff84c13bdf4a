"""A real HTTP endpoint on 127.0.0.1 that checks callback signatures and records what arrives."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from reviews import webhooks


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self):
        return json.loads(self.body)


class Receiver:
    """Answers each POST with the next planned status (then 200); 401 when the signature is bad.

    mode "hang" never answers until the test ends; mode "garbage" answers with no valid HTTP.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.planned: list[int] = []
        self.mode = "answer"
        self.requests: list[Received] = []
        self.ending = threading.Event()
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        # A short poll interval so that stopping the server does not cost half a second a test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/decisions"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout)
        assert arrived, f"expected {count} requests, got {len(self.requests)}"
        return self.requests

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.ending.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, received: Received) -> int:
        with self._arrived:
            self.requests.append(received)
            self._arrived.notify_all()
            if not received.signature_ok:
                return 401
            return self.planned.pop(0) if self.planned else 200


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        signature_ok = webhooks.verify(
            secret=receiver.secret,
            timestamp=self.headers.get(webhooks.TIMESTAMP_HEADER),
            body=body,
            presented=self.headers.get(webhooks.SIGNATURE_HEADER),
        )
        status = receiver._record(Received(self.path, dict(self.headers.items()), body, signature_ok))
        try:
            if receiver.mode == "hang":
                receiver.ending.wait(timeout=30)
            elif receiver.mode == "garbage":
                self.wfile.write(b"this is not HTTP\r\n\r\n")
            else:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
        except OSError:
            pass  # the client gave up first; that is what the test is about

    def log_message(self, format, *args) -> None:
        pass


def closed_port_url() -> str:
    """A local URL nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/decisions"
