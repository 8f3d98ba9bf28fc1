"""Reading the producer's context from a received message (no server needed)."""

from __future__ import annotations

import pytest
from opentelemetry import trace

from sqs_async import Message
from sqs_async.otel import producer_context

HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _received(attributes: dict[str, str], message_attributes: dict[str, str]) -> Message:
    message = Message("body")
    message.attributes = dict(attributes)
    message.message_attributes = {
        name: {"DataType": "String", "StringValue": value}
        for name, value in message_attributes.items()
    }
    return message


def _span_context(message: Message) -> trace.SpanContext | None:
    context = producer_context(message)
    return None if context is None else trace.get_current_span(context).get_span_context()


def test_aws_trace_header() -> None:
    found = _span_context(_received({"AWSTraceHeader": HEADER}, {}))
    assert found is not None
    assert found.trace_id == 0x5759E988BD862E3FE1BE46A994272793
    assert found.span_id == 0x53995C3F42CD8AD8
    assert found.is_remote
    assert found.trace_flags.sampled


def test_unsampled_aws_trace_header() -> None:
    header = HEADER.replace("Sampled=1", "Sampled=0")
    found = _span_context(_received({"AWSTraceHeader": header}, {}))
    assert found is not None
    assert not found.trace_flags.sampled


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        "Root=1-5759e988-bd862e3fe1be46a994272793",
        "Root=1-zz59e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",
        "garbage",
    ],
)
def test_unusable_aws_trace_headers_are_ignored(header: str) -> None:
    assert producer_context(_received({"AWSTraceHeader": header}, {})) is None


def test_message_attributes_win_over_the_aws_trace_header() -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    found = _span_context(_received({"AWSTraceHeader": HEADER}, {"traceparent": traceparent}))
    assert found is not None
    assert found.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert found.span_id == 0xB7AD6B7169203331


def test_no_context() -> None:
    assert producer_context(_received({}, {"kind": "x"})) is None
