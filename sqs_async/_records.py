"""The dump file formats of the command line: JSON Lines records, and bare bodies.

Layer: pure, just below ``_bulk`` (no I/O). A JSON Lines dump holds one object per line::

    {"body": "...", "message_attributes": {"k": {"DataType": "String", "StringValue": "v"}},
     "group_id": null, "deduplication_id": null}

``body`` is the wire text (what SQS stores), ``message_attributes`` the SQS wire shape with
``BinaryValue`` in base64 (as the AWS CLI prints it), ``group_id`` and ``deduplication_id``
the FIFO ``MessageGroupId`` and ``MessageDeduplicationId`` (``null`` on standard queues). The
bare form (``--raw``) holds only bodies, separated by a separator.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._message import Message

__all__ = ["Record", "RecordError", "parse_jsonl", "parse_raw", "to_jsonl"]


class RecordError(ValueError):
    """A dump file entry that is not a valid record."""


@dataclass(frozen=True, slots=True)
class Record:
    """One message of a dump file, and where it stands in the file."""

    body: str
    message_attributes: dict[str, Any] = field(default_factory=dict)  # wire shape, bytes
    group_id: str | None = None
    deduplication_id: str | None = None
    index: int = 0  # 0-based entry of the file: its line (JSON Lines) or its body (raw)
    line: int = 1  # 1-based line where it starts
    raw: bool = False  # from a file of bare bodies, where entries are bodies, not lines

    def where(self) -> str:
        """``line 7`` (JSON Lines), or ``body 3 (line 7)`` (bare bodies)."""
        if self.raw:
            return f"body {self.index + 1} (line {self.line})"
        return f"line {self.line}"


def to_jsonl(message: Message) -> str:
    """The JSON Lines record of a received message (no newline)."""
    attributes = {}
    for name, value in message.message_attributes.items():
        value = dict(value)
        if isinstance(value.get("BinaryValue"), bytes | bytearray):
            value["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        attributes[name] = value
    record = {
        "body": message.get_body_encoded(),
        "message_attributes": attributes,
        "group_id": message.attributes.get("MessageGroupId"),
        "deduplication_id": message.attributes.get("MessageDeduplicationId"),
    }
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def parse_jsonl(text: str) -> list[Record]:
    """Every record of a JSON Lines dump; blank lines are skipped (their index still counts).

    Raises:
        RecordError: A line is not such a record; the message names the line.
    """
    records = []
    for index, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        try:
            records.append(_record(json.loads(line), index))
        except ValueError as exc:  # json.JSONDecodeError and RecordError are ones
            raise RecordError(f"line {index + 1}: {exc}") from None
    return records


def _record(data: Any, index: int) -> Record:
    if not isinstance(data, Mapping):
        raise RecordError("not a JSON object")
    if not isinstance(data.get("body"), str):
        raise RecordError('"body" must be a string')
    unknown = set(data) - {"body", "message_attributes", "group_id", "deduplication_id"}
    if unknown:
        raise RecordError(f"unknown key(s): {', '.join(sorted(unknown))}")
    ids = [data.get("group_id"), data.get("deduplication_id")]
    if any(value is not None and not isinstance(value, str) for value in ids):
        raise RecordError('"group_id" and "deduplication_id" must be strings or null')
    return Record(
        body=data["body"],
        message_attributes=_attributes(data.get("message_attributes", {})),
        group_id=ids[0],
        deduplication_id=ids[1],
        index=index,
        line=index + 1,
    )


def _attributes(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise RecordError('"message_attributes" must be an object')
    wire = {}
    for name, value in data.items():
        if not isinstance(value, Mapping) or not isinstance(value.get("DataType"), str):
            raise RecordError(f"message attribute {name!r}: needs a DataType")
        value = dict(value)
        if "BinaryValue" in value:
            try:
                value["BinaryValue"] = base64.b64decode(value["BinaryValue"], validate=True)
            except (binascii.Error, TypeError):
                raise RecordError(
                    f"message attribute {name!r}: BinaryValue is not base64"
                ) from None
        elif not isinstance(value.get("StringValue"), str):
            raise RecordError(f"message attribute {name!r}: needs a StringValue or BinaryValue")
        wire[name] = value
    return wire


def parse_raw(text: str, sep: str) -> list[Record]:
    """The bodies of a bare dump, ``sep`` between them; empty ones are skipped (SQS refuses an
    empty body), but still counted in ``index``."""
    if not sep:
        raise RecordError("the separator must not be empty")
    records = []
    line = 1
    for index, part in enumerate(text.split(sep)):
        if part:
            records.append(Record(body=part, index=index, line=line, raw=True))
        line += part.count("\n") + sep.count("\n")
    return records
