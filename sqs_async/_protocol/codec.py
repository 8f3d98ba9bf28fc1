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
    "summarize_body",
]


def _bind_json() -> None:
    """Bind :func:`dumps` and :func:`loads` to orjson when it is installed, else the stdlib.

    Done on the first call rather than at import: orjson's import pulls in ``uuid``,
    ``platform`` and ``datetime`` (about 4 ms, a tenth of ``import sqs_async``), which a
    program that imports the package without making a request need not pay. After the
    first call the module globals are orjson's own functions: no cost per request.
    """
    global dumps, loads
    try:  # pragma: no cover - exercised by whichever is installed
        import orjson

        dumps, loads = orjson.dumps, orjson.loads
    except ImportError:  # pragma: no cover
        encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

        def stdlib_dumps(obj: Any) -> bytes:
            return encoder.encode(obj).encode("utf-8")

        dumps, loads = stdlib_dumps, json.loads


def _first_dumps(obj: Any) -> bytes:
    _bind_json()
    return dumps(obj)


def _first_loads(data: bytes | str) -> Any:
    _bind_json()
    return loads(data)


# Serialize to compact UTF-8 JSON / parse JSON: orjson when installed, else the stdlib.
dumps: Callable[[Any], bytes] = _first_dumps
loads: Callable[[bytes | str], Any] = _first_loads


# A body longer than this, or an HTML page (moto's 500 page, a proxy's error page), is
# described in error messages and log lines, never pasted into them.
SHOWN_BODY_BYTES = 300
_HTML_TITLE = re.compile(rb"<title[^>]*>([^<]{1,200})</title>", re.IGNORECASE)


def summarize_body(body: bytes) -> str | None:
    """A short description of a body that should not be shown as it is, else None.

    None means: short, printable text without markup of a web page; show it. Otherwise:
    ``"an HTML page of 2345 bytes titled '500 Internal Server Error'"`` or
    ``"a 4096-byte body"``.
    """
    head = body[:512].lstrip().lower()
    html = head.startswith(b"<!doctype html") or b"<html" in head
    if not html and len(body) <= SHOWN_BODY_BYTES:
        text = body.decode("utf-8", "replace")
        if text.replace("\n", " ").replace("\r", " ").replace("\t", " ").isprintable():
            return None
    if not html:
        return f"a {len(body)}-byte body"
    found = _HTML_TITLE.search(body[:4096])
    title = " ".join(found.group(1).decode("utf-8", "replace").split()) if found else ""
    return f"an HTML page of {len(body)} bytes" + (f" titled {title!r}" if title else "")


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


def _encode_entries(entries: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The entries with their binary attribute values as base64 (the list itself if none)."""
    for index, entry in enumerate(entries):
        if "MessageAttributes" in entry or "MessageSystemAttributes" in entry:
            encoded = [_encode_entry(e) for e in entries[index:]]
            if any(a is not b for a, b in zip(encoded, entries[index:], strict=True)):
                return [*entries[:index], *encoded]
            return entries
    return entries


def encode_request(operation: str, params: Mapping[str, Any]) -> bytes:
    """Serialize the parameters of ``operation`` to a JSON 1.0 request body."""
    if operation == "SendMessageBatch":
        entries = params.get("Entries")
        if entries:
            encoded = _encode_entries(entries)
            if encoded is not entries:
                params = {**params, "Entries": encoded}
    elif operation == "SendMessage" and (
        "MessageAttributes" in params or "MessageSystemAttributes" in params
    ):
        params = _encode_entry(params)
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
            f"response is not valid JSON: {summarize_body(body) or repr(body)}",
            operation=operation,
        ) from exc
    if not isinstance(data, dict):
        raise ResponseError(
            f"response is not a JSON object: {summarize_body(body) or repr(body)}",
            operation=operation,
        )
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
    ``__type``/``code`` (its ``com.amazonaws.sqs#`` namespace and any ``:...`` suffix
    stripped, as botocore does); then a query-protocol XML ``<Code>``; else the HTTP
    status. A body with no message of its own is quoted when it is short text, and
    described (with the status) when it is an HTML page or long.
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
        code = str(raw).split(":", 1)[0].rpartition("#")[2]
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
        summary = summarize_body(body)
        if summary is not None:
            message = f"HTTP status {status}, {summary}"
        else:
            message = body.decode("utf-8", "replace").strip() or f"HTTP status {status}"
    return ErrorInfo(code, message, request_id)
