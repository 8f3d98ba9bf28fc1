"""md5_of_attributes equals an independent implementation of the SQS developer guide's algorithm."""

from __future__ import annotations

import hashlib
import string
import struct
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sqs_async._protocol.checksums import md5_of_attributes, md5_of_body

# Characters SQS accepts in strings (no lone surrogates).
SQS_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
        "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\ufffe\uffff",
    ),
    min_size=1,
    max_size=20,
)
_NAME_PART = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=8)
# Attribute names: dots allowed, but not leading, trailing or doubled.
NAMES = st.lists(_NAME_PART, min_size=1, max_size=3).map(".".join)
LABEL = st.one_of(
    st.just(""),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8).map(
        lambda label: "." + label
    ),
)


@st.composite
def attribute_value(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["String", "Number", "Binary"]))
    data_type = kind + draw(LABEL)
    if kind == "Binary":
        return {"DataType": data_type, "BinaryValue": draw(st.binary(min_size=1, max_size=64))}
    if kind == "Number":
        number = draw(st.decimals(allow_nan=False, allow_infinity=False, places=3))
        return {"DataType": data_type, "StringValue": str(number)}
    return {"DataType": data_type, "StringValue": draw(SQS_TEXT)}


ATTRIBUTES = st.dictionaries(NAMES, attribute_value(), min_size=1, max_size=10)


def _field(data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + data


def reference(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """The developer guide's steps, written out independently of the library."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        digest.update(_field(name.encode("utf-8")))
        digest.update(_field(value["DataType"].encode("utf-8")))
        if "StringValue" in value:
            digest.update(bytes([1]))
            digest.update(_field(value["StringValue"].encode("utf-8")))
        else:
            digest.update(bytes([2]))
            digest.update(_field(value["BinaryValue"]))
    return digest.hexdigest()


@settings(max_examples=100, deadline=None)
@given(ATTRIBUTES)
def test_md5_of_attributes_matches_the_reference(attributes: dict[str, dict[str, Any]]) -> None:
    assert md5_of_attributes(attributes) == reference(attributes)


@settings(max_examples=30, deadline=None)
@given(ATTRIBUTES)
def test_md5_of_attributes_ignores_insertion_order(attributes: dict[str, dict[str, Any]]) -> None:
    reordered = dict(reversed(list(attributes.items())))
    assert md5_of_attributes(reordered) == md5_of_attributes(attributes)


@settings(max_examples=30, deadline=None)
@given(ATTRIBUTES, NAMES, attribute_value())
def test_md5_of_attributes_changes_when_an_attribute_changes(
    attributes: dict[str, dict[str, Any]], name: str, value: dict[str, Any]
) -> None:
    changed = {**attributes, name: value}
    if changed != attributes:
        assert md5_of_attributes(changed) != md5_of_attributes(attributes)


@settings(max_examples=30, deadline=None)
@given(SQS_TEXT)
def test_md5_of_body(body: str) -> None:
    assert md5_of_body(body) == hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()
