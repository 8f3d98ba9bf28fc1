"""The transport protocol: one HTTP POST, bytes in, status/headers/bytes out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Response", "Transport"]


@dataclass(frozen=True, slots=True)
class Response:
    """A complete HTTP response."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Sends one request and returns the whole response.

    Implementations raise only :class:`~sqs_async.errors.TransportError` subclasses for
    failures to get a response, and never swallow cancellation. A cancelled request must
    not leak its connection.
    """

    async def request(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        read_timeout: float,
        long_poll: bool = False,
    ) -> Response:
        """POST ``body`` to ``url``.

        Args:
            url: The endpoint URL.
            headers: Every header to send (signed already).
            body: The request body.
            read_timeout: Seconds to wait for the response once the request is sent.
            long_poll: Use the long-poll lane (a separate pool, so long polls never
                starve other calls of connections).
        """
        ...

    async def aclose(self) -> None:
        """Close every pooled connection. Idempotent."""
        ...
