"""encode_request → (the service echoes the attributes) → decode_response gives back the input."""

from __future__ import annotations

import base64
import json
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sqs_async._protocol.codec import decode_response, encode_request

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\ufffe\uffff"),
    min_size=1,
    max_size=30,
)
NAMES = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=12)


@st.composite
def attribute_value(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["String", "Number", "Binary"]))
    if kind == "Binary":
        return {"DataType": "Binary", "BinaryValue": draw(st.binary(min_size=1, max_size=64))}
    if kind == "Number":
        return {"DataType": "Number", "StringValue": str(draw(st.integers()))}
    return {"DataType": "String", "StringValue": draw(TEXT)}


ATTRIBUTES = st.dictionaries(NAMES, attribute_value(), min_size=1, max_size=10)
SMALL_ATTRIBUTES = st.dictionaries(NAMES, attribute_value(), min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(TEXT, ATTRIBUTES)
def test_send_message_round_trip(body: str, attributes: dict[str, Any]) -> None:
    params = {"QueueUrl": "https://q", "MessageBody": body, "MessageAttributes": attributes}
    wire = json.loads(encode_request("SendMessage", params))
    # JSON 1.0: binary travels as base64 text, everything else unchanged
    for name, value in attributes.items():
        sent = wire["MessageAttributes"][name]
        if "BinaryValue" in value:
            assert base64.b64decode(sent["BinaryValue"], validate=True) == value["BinaryValue"]
        else:
            assert sent == value
    assert wire["MessageBody"] == body
    # What a ReceiveMessage gives back decodes to exactly what was sent.
    response = json.dumps(
        {
            "Messages": [
                {"Body": wire["MessageBody"], "MessageAttributes": wire["MessageAttributes"]}
            ]
        }
    ).encode()
    (message,) = decode_response("ReceiveMessage", response)["Messages"]
    assert message["Body"] == body
    assert message["MessageAttributes"] == attributes


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(TEXT, SMALL_ATTRIBUTES), min_size=1, max_size=10))
def test_send_message_batch_round_trip(items: list[tuple[str, dict[str, Any]]]) -> None:
    entries = [
        {"Id": str(i), "MessageBody": body, "MessageAttributes": attrs}
        for i, (body, attrs) in enumerate(items)
    ]
    snapshot = [dict(e) for e in entries]
    wire = json.loads(encode_request("SendMessageBatch", {"QueueUrl": "q", "Entries": entries}))
    assert entries == snapshot  # the caller's params are not mutated
    response = json.dumps(
        {
            "Messages": [
                {"Body": e["MessageBody"], "MessageAttributes": e["MessageAttributes"]}
                for e in wire["Entries"]
            ]
        }
    ).encode()
    decoded = decode_response("ReceiveMessage", response)["Messages"]
    assert [(m["Body"], m["MessageAttributes"]) for m in decoded] == items
