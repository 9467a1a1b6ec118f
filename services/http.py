"""What every sandbox service's HTTP side shares: method dispatch and a clean stop.

Standard library only, like the services themselves.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType


class DispatchingHandler(BaseHTTPRequestHandler):
    """Sends every HTTP method to ``_dispatch(method)``, where the service routes it (404, 405 or a handler)."""

    def _dispatch(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


def serve_until_signalled(
    server: ThreadingHTTPServer, stop: threading.Event, background: Iterable[threading.Thread] = ()
) -> None:
    """Serve (plus any ``background`` threads) until SIGTERM or SIGINT sets ``stop``, then shut down."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=server.serve_forever, name="http", daemon=True), *background]
    for thread in threads:
        thread.start()
    stop.wait()
    server.shutdown()
    server.server_close()
    for thread in threads:
        thread.join(timeout=15)
