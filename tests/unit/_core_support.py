"""Shared helpers for the core unit tests: a connection over MockTransport, a fake clock for
retries, and an MD5 reference written from the SQS developer guide (not from the library).

Not a test module (no ``test_`` prefix); test modules in this directory import it by name.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from sqs_async import SQSConnection
from sqs_async import _client as client_module
from sqs_async._transport.base import Response
from sqs_async._transport.mock import MockTransport, RecordedCall

ENDPOINT = "http://127.0.0.1:9"
HOST = "127.0.0.1:9"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# A queue URL on a *different* host than the endpoint: requests must never go there.
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"

Handler = Callable[[RecordedCall], "Response | dict[str, Any]"]


def connect(handler: Handler, **kwargs: Any) -> tuple[SQSConnection, MockTransport]:
    """A connection whose requests go to ``handler`` (no sockets). Use it with ``async with``."""
    mock = MockTransport(handler)
    options: dict[str, Any] = {"region": "us-east-1", "endpoint_url": ENDPOINT}
    options.update(kwargs)
    conn = SQSConnection(ACCESS_KEY, SECRET_KEY, transport=mock, **options)
    return conn, mock


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def reference_md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """MD5 of message attributes, from the SQS developer guide, independently of the library.

    Sorted by name; each attribute is: 4-byte big-endian length + UTF-8 name, length + data
    type, one transport byte (1 string, 2 binary), length + value.
    """
    buf = bytearray()
    for name in sorted(attributes):
        value = attributes[name]
        encoded_name = name.encode("utf-8")
        data_type = str(value["DataType"]).encode("utf-8")
        buf += struct.pack(">I", len(encoded_name)) + encoded_name
        buf += struct.pack(">I", len(data_type)) + data_type
        if value.get("StringValue") is not None:
            raw = str(value["StringValue"]).encode("utf-8")
            buf += b"\x01" + struct.pack(">I", len(raw)) + raw
        else:
            blob = bytes(value["BinaryValue"])
            buf += b"\x02" + struct.pack(">I", len(blob)) + blob
    return md5_hex(bytes(buf))


def sent_result(entry: Mapping[str, Any], message_id: str = "mid-1") -> dict[str, Any]:
    """What SQS answers to a SendMessage (or one batch entry) given its *wire* params."""
    result: dict[str, Any] = {
        "MessageId": message_id,
        "MD5OfMessageBody": md5_hex(entry["MessageBody"].encode("utf-8")),
    }
    attributes = entry.get("MessageAttributes")
    if attributes:
        result["MD5OfMessageAttributes"] = reference_md5_of_attributes(
            decode_wire_attributes(attributes)
        )
    return result


def decode_wire_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Wire (JSON) message attributes with base64 BinaryValue → Python shape with bytes."""
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        value = dict(value)
        if "BinaryValue" in value:
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
        out[name] = value
    return out


def wire_message(
    body: str,
    message_id: str = "m-1",
    receipt_handle: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    *,
    md5_of_body: str | None = None,
    md5_of_attributes: str | None = None,
) -> dict[str, Any]:
    """One ``Messages`` entry of a ReceiveMessage response, as JSON (binary as base64).

    ``attributes`` are given in the Python shape (``BinaryValue`` as bytes).
    """
    message: dict[str, Any] = {
        "MessageId": message_id,
        "ReceiptHandle": receipt_handle or f"rh-{message_id}",
        "Body": body,
        "MD5OfBody": md5_of_body or md5_hex(body.encode("utf-8")),
        "Attributes": {"ApproximateReceiveCount": "1"},
    }
    if attributes:
        wire: dict[str, Any] = {}
        for name, value in attributes.items():
            value = dict(value)
            if "BinaryValue" in value:
                value["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
            wire[name] = value
        message["MessageAttributes"] = wire
        message["MD5OfMessageAttributes"] = md5_of_attributes or reference_md5_of_attributes(
            attributes
        )
    return message


def default_handler(call: RecordedCall) -> Response | dict[str, Any]:
    """A well-behaved SQS: correct MD5s on sends, empty receives, empty answers otherwise."""
    if call.operation == "SendMessage":
        return sent_result(call.params)
    if call.operation == "SendMessageBatch":
        return {
            "Successful": [
                {"Id": e["Id"], **sent_result(e, f"mid-{e['Id']}")} for e in call.params["Entries"]
            ],
            "Failed": [],
        }
    if call.operation == "ReceiveMessage":
        return {"Messages": []}
    if call.operation in ("DeleteMessageBatch", "ChangeMessageVisibilityBatch"):
        return {"Successful": [{"Id": e["Id"]} for e in call.params["Entries"]], "Failed": []}
    return {}


def json_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    all_headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "req-42"}
    all_headers.update(headers or {})
    return Response(status, all_headers, json.dumps(body).encode())


class _AsyncioWithFakeSleep:
    """Stands in for the ``asyncio`` module inside ``sqs_async._client``: sleeps are recorded."""

    def __init__(self, delays: list[float]) -> None:
        self._delays = delays

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self._delays.append(delay)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def fake_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace the sleeps of the client's request pipeline; return the recorded delays."""
    delays: list[float] = []
    monkeypatch.setattr(client_module, "asyncio", _AsyncioWithFakeSleep(delays))
    return delays
