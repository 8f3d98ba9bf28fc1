"""Wire formats: the :class:`WireProtocol` seam and the AWS JSON 1.0 implementation.

SQS speaks AWS JSON 1.0 (the default, and the fast path). Some SQS-compatible servers
speak only the legacy query protocol (form-encoded requests, XML responses); a connection
created with ``protocol="query"`` uses :mod:`~sqs_async._protocol.query` instead, and
``protocol="auto"`` starts with JSON and falls back when the server rejects it.
Both produce and consume botocore's shapes, so everything above is protocol-agnostic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .codec import ErrorInfo, decode_response, encode_request, parse_error
from .operations import TARGET_PREFIX

__all__ = ["JSON", "JsonProtocol", "WireProtocol", "rejects_json"]


class WireProtocol(Protocol):
    """How requests are written and responses read."""

    name: str

    def headers(self, operation: str) -> dict[str, str]:
        """The constant headers of an operation (content type, target...), to be signed."""
        ...

    def encode(self, operation: str, params: Mapping[str, Any]) -> bytes:
        """The request body."""
        ...

    def decode(self, operation: str, body: bytes) -> dict[str, Any]:
        """A successful response, in botocore's output shape."""
        ...

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> ErrorInfo:
        """The code and message of an error response."""
        ...


class JsonProtocol:
    """AWS JSON 1.0: ``X-Amz-Target: AmazonSQS.<Operation>``, a JSON body both ways."""

    name = "json"
    CONTENT_TYPE = "application/x-amz-json-1.0"

    def __init__(self) -> None:
        self._headers: dict[str, dict[str, str]] = {}

    def headers(self, operation: str) -> dict[str, str]:
        headers = self._headers.get(operation)
        if headers is None:
            headers = {
                "Content-Type": self.CONTENT_TYPE,
                "X-Amz-Target": TARGET_PREFIX + operation,
                "x-amzn-query-mode": "true",
            }
            self._headers[operation] = headers
        return headers

    def encode(self, operation: str, params: Mapping[str, Any]) -> bytes:
        return encode_request(operation, params)

    def decode(self, operation: str, body: bytes) -> dict[str, Any]:
        return decode_response(operation, body)

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> ErrorInfo:
        return parse_error(status, headers, body)


JSON = JsonProtocol()

_NO_JSON_CODES = frozenset(
    {"InvalidAction", "MissingAction", "UnknownOperationException", "UnknownOperation"}
)


def rejects_json(status: int, info: ErrorInfo, body: bytes) -> bool:
    """Whether an error answer to a JSON request means "this server does not speak JSON".

    HTTP 415 (Unsupported Media Type) says it outright; a query-only server answers a JSON
    request it cannot route with an XML ``MissingAction``/``InvalidAction`` error.
    """
    if status == 415:
        return True
    return body.lstrip()[:1] == b"<" and info.code.rpartition(".")[2] in _NO_JSON_CODES
