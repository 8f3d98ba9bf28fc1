"""MD5 checksums of message bodies and message attributes, as SQS computes them.

The attribute digest follows the SQS developer guide ("Calculating the MD5 message digest
for message attributes"): attributes sorted by name; for each, the length-prefixed
(4-byte big-endian) UTF-8 name, the length-prefixed data type, one transport-type byte
(1 = String/Number, 2 = Binary, 3 = String list, 4 = Binary list) and the length-prefixed
value (each list item length-prefixed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

__all__ = ["md5_of_attributes", "md5_of_body"]


def md5_of_body(body: str) -> str:
    """Hex MD5 of the UTF-8 bytes of a message body."""
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def _bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """Hex MD5 of message attributes in the SQS wire shape (``DataType``/``StringValue``...)."""
    parts: list[bytes] = []
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        parts.append(_prefixed(name.encode("utf-8")))
        parts.append(_prefixed(data_type.encode("utf-8")))
        if "StringValue" in value and value["StringValue"] is not None:
            parts.append(b"\x01")
            parts.append(_prefixed(_bytes(value["StringValue"])))
        elif "BinaryValue" in value and value["BinaryValue"] is not None:
            parts.append(b"\x02")
            parts.append(_prefixed(_bytes(value["BinaryValue"])))
        elif value.get("StringListValues"):
            parts.append(b"\x03")
            parts.extend(_prefixed(_bytes(v)) for v in value["StringListValues"])
        elif value.get("BinaryListValues"):
            parts.append(b"\x04")
            parts.extend(_prefixed(_bytes(v)) for v in value["BinaryListValues"])
    return hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest()
