"""AWS JSON 1.0 bodies: serialize requests, parse responses and errors.

Blob members (``BinaryValue``, ``BinaryListValues`` of message attributes) travel as
base64 text on the wire and as ``bytes`` in Python, as botocore does. JSON goes through
orjson when it is installed (measured in benchmarks/README.md), else the stdlib.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ResponseError, ValidationError

__all__ = [
    "ErrorInfo",
    "decode_response",
    "dumps",
    "encode_request",
    "loads",
    "parse_error",
]

try:  # pragma: no cover - exercised by whichever is installed
    import orjson

    dumps: Callable[[Any], bytes] = orjson.dumps
    loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover
    _encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

    def dumps(obj: Any) -> bytes:
        return _encoder.encode(obj).encode("utf-8")

    loads = json.loads


def _b64(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).decode("ascii")


def _encode_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        if "BinaryValue" in value or "BinaryListValues" in value:
            value = dict(value)
            if "BinaryValue" in value:
                value["BinaryValue"] = _b64(value["BinaryValue"])
            if "BinaryListValues" in value:
                value["BinaryListValues"] = [_b64(v) for v in value["BinaryListValues"]]
        out[name] = value
    return out


def _has_binary(attributes: Mapping[str, Any]) -> bool:
    return any("BinaryValue" in v or "BinaryListValues" in v for v in attributes.values())


def _encode_entry(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    changed: dict[str, Any] | None = None
    for key in ("MessageAttributes", "MessageSystemAttributes"):
        attrs = entry.get(key)
        if attrs and _has_binary(attrs):
            if changed is None:
                changed = dict(entry)
            changed[key] = _encode_attributes(attrs)
    return entry if changed is None else changed


def encode_request(operation: str, params: Mapping[str, Any]) -> bytes:
    """Serialize the parameters of ``operation`` to a JSON 1.0 request body."""
    if operation == "SendMessage":
        params = _encode_entry(params)
    elif operation == "SendMessageBatch" and params.get("Entries"):
        entries = params["Entries"]
        encoded = [_encode_entry(e) for e in entries]
        if any(a is not b for a, b in zip(encoded, entries, strict=True)):
            params = {**params, "Entries": encoded}
    try:
        return dumps(params)
    except TypeError as exc:
        raise ValidationError(f"{operation}: parameters are not JSON-serializable: {exc}") from exc


def _decode_attributes(attributes: dict[str, Any]) -> None:
    for value in attributes.values():
        if "BinaryValue" in value:
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
        if "BinaryListValues" in value:
            value["BinaryListValues"] = [base64.b64decode(v) for v in value["BinaryListValues"]]


def decode_response(operation: str, body: bytes) -> dict[str, Any]:
    """Parse a successful JSON 1.0 response body into botocore's output shape."""
    if not body:
        return {}
    try:
        data = loads(body)
    except ValueError as exc:
        raise ResponseError(
            f"response is not valid JSON: {body[:200]!r}", operation=operation
        ) from exc
    if not isinstance(data, dict):
        raise ResponseError(f"response is not a JSON object: {body[:200]!r}", operation=operation)
    if operation == "ReceiveMessage":
        try:
            for message in data.get("Messages", ()):
                attrs = message.get("MessageAttributes")
                if attrs:
                    _decode_attributes(attrs)
        except (binascii.Error, AttributeError, TypeError) as exc:
            raise ResponseError(
                "response has a malformed message attribute", operation=operation
            ) from exc
    return data


class ErrorInfo:
    """The code and message of an error response."""

    __slots__ = ("code", "message", "request_id")

    def __init__(self, code: str, message: str, request_id: str | None) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id


_XML_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_XML_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>", re.IGNORECASE)


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> ErrorInfo:
    """Extract the error code and message from an error response.

    The legacy query code in ``x-amzn-query-error`` (``Code;Fault``) wins, as in botocore,
    since it is the more specific one for SQS (awsQueryCompatible); then the JSON
    ``__type``/``code``; then a query-protocol XML ``<Code>``; else the HTTP status.
    """
    request_id = (
        headers.get("x-amzn-requestid")  # our transport lowercases names
        or headers.get("x-amzn-RequestId")
        or headers.get("x-amz-request-id")
    )
    code = ""
    message = ""
    data: Any = None
    if body[:1] == b"{":
        try:
            data = loads(body)
        except ValueError:
            data = None
    if isinstance(data, dict):
        raw = data.get("__type") or data.get("code") or data.get("Code") or ""
        code = str(raw)
        message = str(data.get("message") or data.get("Message") or "")
    elif body[:1] == b"<":
        found = _XML_CODE.search(body)
        if found:
            code = found.group(1).decode("utf-8", "replace")
        found = _XML_MESSAGE.search(body)
        if found:
            message = found.group(1).decode("utf-8", "replace")
    query_error = headers.get("x-amzn-query-error")
    if query_error:
        code = query_error.partition(";")[0] or code
    if not code:
        code = f"HTTP{status}"
    if not message:
        message = body[:200].decode("utf-8", "replace") if body else f"HTTP status {status}"
    return ErrorInfo(code, message, request_id)
