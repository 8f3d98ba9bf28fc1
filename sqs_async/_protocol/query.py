"""The legacy SQS query protocol (API 2012-11-05): form-encoded requests, XML responses.

Layer: ``_protocol`` (pure: no I/O). Used by ``SQSConnection(protocol="query")`` and by
``protocol="auto"`` once a server has rejected AWS JSON 1.0 (some SQS-compatible servers
speak only this). Like :class:`~sqs_async._protocol.wire.JsonProtocol` it takes and returns
botocore's shapes, so nothing above this module knows which protocol is in use.

A request is ``POST /`` with ``Action=<Operation>&Version=2012-11-05&...``: botocore's
parameters flattened with the query names of the SQS 2012-11-05 model (``AttributeName.1``,
``MessageAttribute.1.Value.StringValue``, ``SendMessageBatchRequestEntry.1.Id``...; see
the AWS API reference, "Making Query API requests"). A response is
``<OperationResponse><OperationResult>...</OperationResult>...</OperationResponse>``, turned
back into botocore's output shape by the tables below. Blobs (``BinaryValue``) are base64 on
the wire and ``bytes`` in Python. The XML is parsed with :mod:`xml.etree.ElementTree`, which
resolves no external entities; the bundled expat (≥ 2.4.1) also refuses entity-expansion bombs.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any, NamedTuple, TypeAlias

from ..errors import ResponseError, ValidationError
from .codec import ErrorInfo, parse_error, summarize_body
from .operations import API_VERSION

__all__ = ["CONTENT_TYPE", "QueryProtocol"]

CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"

# -- requests: botocore member name -> query name ---------------------------------------------

# Lists are "flattened": each element is ``<name>.<n>`` (n from 1).
_LIST_NAMES: dict[str, str] = {
    "AWSAccountIds": "AWSAccountId",
    "Actions": "ActionName",
    "AttributeNames": "AttributeName",
    "BinaryListValues": "BinaryListValue",
    "MessageAttributeNames": "MessageAttributeName",
    "MessageSystemAttributeNames": "MessageSystemAttributeName",
    "StringListValues": "StringListValue",
    "TagKeys": "TagKey",
}
# Maps are flattened too: ``<entry>.<n>.<key name>`` and ``<entry>.<n>.<value name>``.
_MAP_NAMES: dict[str, tuple[str, str, str]] = {
    "Attributes": ("Attribute", "Name", "Value"),
    "MessageAttributes": ("MessageAttribute", "Name", "Value"),
    "MessageSystemAttributes": ("MessageSystemAttribute", "Name", "Value"),
    "Tags": ("Tag", "Key", "Value"),
    "tags": ("Tag", "Key", "Value"),  # CreateQueue spells it in lower case
}
# The ``Entries`` of each batch operation.
_ENTRY_NAMES: dict[str, str] = {
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatchRequestEntry",
    "DeleteMessageBatch": "DeleteMessageBatchRequestEntry",
    "SendMessageBatch": "SendMessageBatchRequestEntry",
}
_BLOBS = frozenset({"BinaryValue", "BinaryListValues"})
# Maps whose values are structures (MessageAttributeValue); every other map holds strings.
_STRUCTURE_MAPS = frozenset({"MessageAttributes", "MessageSystemAttributes"})
_Pairs: TypeAlias = list[tuple[str, str]]


def _scalar(member: str, value: object) -> str:
    if member in _BLOBS and isinstance(value, bytes | bytearray | memoryview | str):
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValidationError(f"{member}: a {type(value).__name__} cannot be sent in a query request")


def _flatten(out: _Pairs, prefix: str, params: Mapping[str, Any], entry_name: str) -> None:
    """Append the query pairs of a structure's members, each name prefixed by ``prefix``."""
    for member, value in params.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            entry, key_name, value_name = _MAP_NAMES.get(member, (member, "Name", "Value"))
            for n, (key, item) in enumerate(value.items(), 1):
                at = f"{prefix}{entry}.{n}."
                out.append((at + key_name, str(key)))
                if member in _STRUCTURE_MAPS and isinstance(item, Mapping):
                    _flatten(out, f"{at}{value_name}.", item, entry_name)
                else:
                    out.append((at + value_name, _scalar(member, item)))
        elif isinstance(value, list | tuple):
            name = entry_name if member == "Entries" else _LIST_NAMES.get(member, member)
            for n, item in enumerate(value, 1):
                if member == "Entries" and isinstance(item, Mapping):  # a batch entry
                    _flatten(out, f"{prefix}{name}.{n}.", item, entry_name)
                else:
                    out.append((f"{prefix}{name}.{n}", _scalar(member, item)))
        else:
            out.append((prefix + member, _scalar(member, value)))


# -- responses: XML element -> botocore member -------------------------------------------------

STR, INT, BOOL, BLOB = "str", "int", "bool", "blob"


class _List(NamedTuple):
    """Repeated ``<element>``s collected into the list ``key``."""

    key: str
    item: _Shape


class _Map(NamedTuple):
    """Repeated ``<element><Name>k</Name><Value>v</Value></element>`` collected into ``key``."""

    key: str
    item: _Shape = STR
    key_name: str = "Name"
    value_name: str = "Value"


# A scalar kind (STR, INT, BOOL, BLOB) or a structure: child element name -> how to read it.
_Shape: TypeAlias = "str | Mapping[str, _Field]"
_Field: TypeAlias = "_Shape | _List | _Map"

_ATTRIBUTE_VALUE: Mapping[str, _Field] = {
    "DataType": STR,
    "StringValue": STR,
    "BinaryValue": BLOB,
    "StringListValue": _List("StringListValues", STR),
    "BinaryListValue": _List("BinaryListValues", BLOB),
}
_MESSAGE: Mapping[str, _Field] = {
    "MessageId": STR,
    "ReceiptHandle": STR,
    "MD5OfBody": STR,
    "Body": STR,
    "Attribute": _Map("Attributes"),
    "MD5OfMessageAttributes": STR,
    "MessageAttribute": _Map("MessageAttributes", _ATTRIBUTE_VALUE),
}
_SENT: Mapping[str, _Field] = {
    "Id": STR,
    "MessageId": STR,
    "MD5OfMessageBody": STR,
    "MD5OfMessageAttributes": STR,
    "MD5OfMessageSystemAttributes": STR,
    "SequenceNumber": STR,
}
_FAILED = _List("Failed", {"Id": STR, "SenderFault": BOOL, "Code": STR, "Message": STR})
_MOVE_TASK: Mapping[str, _Field] = {
    "TaskHandle": STR,
    "Status": STR,
    "SourceArn": STR,
    "DestinationArn": STR,
    "MaxNumberOfMessagesPerSecond": INT,
    "ApproximateNumberOfMessagesMoved": INT,
    "ApproximateNumberOfMessagesToMove": INT,
    "FailureReason": STR,
    "StartedTimestamp": INT,
}

# Operation -> its <OperationResult>. Operations not listed return nothing ({}).
_RESULTS: dict[str, Mapping[str, _Field]] = {
    "CancelMessageMoveTask": {"ApproximateNumberOfMessagesMoved": INT},
    "ChangeMessageVisibilityBatch": {
        "ChangeMessageVisibilityBatchResultEntry": _List("Successful", {"Id": STR}),
        "BatchResultErrorEntry": _FAILED,
    },
    "CreateQueue": {"QueueUrl": STR},
    "DeleteMessageBatch": {
        "DeleteMessageBatchResultEntry": _List("Successful", {"Id": STR}),
        "BatchResultErrorEntry": _FAILED,
    },
    "GetQueueAttributes": {"Attribute": _Map("Attributes")},
    "GetQueueUrl": {"QueueUrl": STR},
    "ListDeadLetterSourceQueues": {"QueueUrl": _List("queueUrls", STR), "NextToken": STR},
    "ListMessageMoveTasks": {"ListMessageMoveTasksResultEntry": _List("Results", _MOVE_TASK)},
    "ListQueueTags": {"Tag": _Map("Tags", STR, "Key", "Value")},
    "ListQueues": {"QueueUrl": _List("QueueUrls", STR), "NextToken": STR},
    "ReceiveMessage": {"Message": _List("Messages", _MESSAGE)},
    "SendMessage": {name: kind for name, kind in _SENT.items() if name != "Id"},
    "SendMessageBatch": {
        "SendMessageBatchResultEntry": _List("Successful", _SENT),
        "BatchResultErrorEntry": _FAILED,
    },
    "StartMessageMoveTask": {"TaskHandle": STR},
}
# Lists that botocore's model requires in the output: present even when the XML has none.
_REQUIRED_LISTS: dict[str, tuple[str, ...]] = {
    "ChangeMessageVisibilityBatch": ("Successful", "Failed"),
    "DeleteMessageBatch": ("Successful", "Failed"),
    "ListDeadLetterSourceQueues": ("queueUrls",),
    "SendMessageBatch": ("Successful", "Failed"),
}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]  # "{http://queue.amazonaws.com/doc/2012-11-05/}Body" -> "Body"


def _child(node: ET.Element, name: str) -> ET.Element | None:
    return next((child for child in node if _local(child.tag) == name), None)


def _read(node: ET.Element, shape: _Shape) -> Any:
    if not isinstance(shape, str):
        return _structure(node, shape)
    text = node.text or ""
    if shape == INT:
        return int(text)
    if shape == BOOL:
        return text.strip().lower() == "true"
    if shape == BLOB:
        return base64.b64decode(text, validate=True)
    return text


def _structure(node: ET.Element, shape: Mapping[str, _Field]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in node:
        name = _local(child.tag)
        field = shape.get(name)
        if field is None:
            continue  # a member this version does not know: ignored, as botocore does
        if isinstance(field, _List):
            out.setdefault(field.key, []).append(_read(child, field.item))
        elif isinstance(field, _Map):
            key, value = _child(child, field.key_name), _child(child, field.value_name)
            if key is not None:
                item = _read(value, field.item) if value is not None else ""
                out.setdefault(field.key, {})[key.text or ""] = item
        else:
            out[name] = _read(child, field)
    return out


def _parse(body: bytes, operation: str) -> ET.Element:
    try:
        return ET.fromstring(body.lstrip())  # safe: see the module docstring
    except ET.ParseError as exc:
        raise ResponseError(
            f"response is not valid XML: {summarize_body(body) or repr(body)}",
            operation=operation,
        ) from exc


def _find(root: ET.Element, name: str) -> ET.Element | None:
    """``<name>`` as the root, a child of the root or, failing that, anywhere below it."""
    if _local(root.tag) == name:
        return root
    found = _child(root, name)
    if found is None:
        found = next((node for node in root.iter() if _local(node.tag) == name), None)
    return found


class QueryProtocol:
    """The SQS query protocol: ``Action=<Operation>`` form posts, XML answers.

    Example::

        conn = sqs_async.SQSConnection(endpoint_url="http://127.0.0.1:9324", protocol="query")
    """

    name = "query"
    CONTENT_TYPE = CONTENT_TYPE

    def __init__(self) -> None:
        self._headers = {"Content-Type": CONTENT_TYPE}

    def headers(self, operation: str) -> dict[str, str]:
        """The same for every operation: the action travels in the body."""
        return self._headers

    def encode(self, operation: str, params: Mapping[str, Any]) -> bytes:
        """``Action=<operation>&Version=2012-11-05&<params flattened>``, form-encoded.

        Raises:
            ValidationError: A parameter has a type the query protocol cannot carry.
        """
        system = params.get("MessageSystemAttributeNames")
        if operation == "ReceiveMessage" and system and not params.get("AttributeNames"):
            # Servers that predate MessageSystemAttributeNames (2024) know only the legacy
            # AttributeName.N; AWS accepts both and returns the union.
            params = {**params, "AttributeNames": system}
        pairs: _Pairs = [("Action", operation), ("Version", API_VERSION)]
        _flatten(pairs, "", params, _ENTRY_NAMES.get(operation, "Entries"))
        try:
            return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote, safe="-_.~").encode(
                "ascii"
            )
        except UnicodeEncodeError as exc:
            raise ValidationError(f"{operation}: a parameter is not valid text: {exc}") from exc

    def decode(self, operation: str, body: bytes) -> dict[str, Any]:
        """Parse ``<OperationResponse>`` into botocore's output shape.

        Raises:
            ResponseError: The body is not XML, or a number or a base64 value is malformed.
        """
        result: dict[str, Any] = {}
        shape = _RESULTS.get(operation)
        if shape is not None and body.strip():
            node = _find(_parse(body, operation), operation + "Result")
            if node is not None:
                try:
                    result = _structure(node, shape)
                except (ValueError, binascii.Error) as exc:
                    raise ResponseError(
                        f"response has a malformed value: {exc}", operation=operation
                    ) from exc
        for key in _REQUIRED_LISTS.get(operation, ()):
            result.setdefault(key, [])
        return result

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> ErrorInfo:
        """The code, message and request id of an ``<ErrorResponse>``."""
        info = parse_error(status, headers, body)
        if body.lstrip()[:1] != b"<":
            return info
        try:
            root = ET.fromstring(body.lstrip())  # safe: see the module docstring
        except ET.ParseError:
            return info  # parse_error already took what a regular expression could
        texts = {_local(node.tag): (node.text or "").strip() for node in root.iter()}
        if texts.get("Code") and not headers.get("x-amzn-query-error"):
            info.code = texts["Code"]  # the header, when present, wins (as in parse_error)
        # The parsed text has its entities (&quot; ...) resolved; the regex match does not.
        info.message = texts.get("Message") or texts.get("message") or info.message
        info.request_id = info.request_id or texts.get("RequestId") or texts.get("RequestID")
        return info
