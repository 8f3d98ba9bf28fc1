"""A scriptable in-memory transport for unit tests: no sockets.

Give it a handler that receives each request (operation, decoded params, headers) and
returns a :class:`Response`, a JSON-able dict (a 200 answer), or raises. Every request is
recorded in ``calls``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import Response

__all__ = ["MockTransport", "RecordedCall", "error_response"]

Handler = Callable[
    ["RecordedCall"], "Response | dict[str, Any] | Awaitable[Response | dict[str, Any]]"
]


@dataclass(slots=True)
class RecordedCall:
    """One request as the mock saw it."""

    operation: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    url: str
    read_timeout: float
    long_poll: bool


def error_response(
    status: int, code: str, message: str = "", *, query_code: str | None = None
) -> Response:
    """Build an SQS JSON 1.0 error response."""
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "req-1"}
    if query_code:
        headers["x-amzn-query-error"] = f"{query_code};Sender"
    body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": message}).encode()
    return Response(status, headers, body)


@dataclass
class MockTransport:
    """The fake transport."""

    handler: Handler
    calls: list[RecordedCall] = field(default_factory=list)
    closed: bool = False

    async def request(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        read_timeout: float,
        long_poll: bool = False,
    ) -> Response:
        target = headers.get("X-Amz-Target", "")
        call = RecordedCall(
            operation=target.rpartition(".")[2],
            params=json.loads(body) if body else {},
            headers=dict(headers),
            body=body,
            url=url,
            read_timeout=read_timeout,
            long_poll=long_poll,
        )
        self.calls.append(call)
        result = self.handler(call)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, Response):
            return result
        return Response(
            200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(result).encode()
        )

    async def aclose(self) -> None:
        self.closed = True

    def operations(self) -> list[str]:
        """The operation names called so far, in order."""
        return [c.operation for c in self.calls]
