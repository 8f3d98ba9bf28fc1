"""The supervisor's HTTP endpoints: ``GET /metrics`` and ``GET /healthz``.

Layer: the runner's room. A deliberately small HTTP/1.0 responder on asyncio: one request
per connection, then close; the exposition text comes from prometheus-client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .metrics import Metrics

__all__ = ["Endpoints"]

log = logging.getLogger("sqs_async.worker")

REQUEST_TIMEOUT = 5.0
MAX_REQUEST_BYTES = 8192


class Endpoints:
    """Serves the supervisor's metrics and health.

    Args:
        metrics: The summed view of the children.
        stopping: Whether the supervisor is shutting down (``/healthz`` then says 503).
    """

    def __init__(self, metrics: Metrics, stopping: Callable[[], bool]) -> None:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

        self._metrics = metrics
        self._stopping = stopping
        self._content_type = CONTENT_TYPE_LATEST
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(metrics)
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; return the port (useful with port 0)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def aclose(self) -> None:
        """Stop listening. Idempotent."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def respond(self, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for ``GET path``."""
        from prometheus_client import generate_latest

        if path == "/metrics":
            return 200, self._content_type, generate_latest(self._registry)
        if path == "/healthz":
            healthy, reason = self._metrics.health(self._stopping())
            return (200 if healthy else 503), "text/plain; charset=utf-8", f"{reason}\n".encode()
        return 404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            method, _, rest = head[:MAX_REQUEST_BYTES].decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].partition("?")[0]
            if method not in ("GET", "HEAD"):
                status, content_type, body = 405, "text/plain", b"only GET\n"
            else:
                status, content_type, body = self.respond(path)
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                status, "Service Unavailable"
            )
            writer.write(
                f"HTTP/1.0 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that went away or never finished its request
        finally:
            writer.close()
