"""sqs_async.otel against the local server, spans caught by the SDK's in-memory exporter."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from live_support import QueueFactory
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import sqs_async
import sqs_async.otel
from sqs_async import Message, Queue

pytest_plugins = ["live_fixtures"]
pytestmark = pytest.mark.integration


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sqs_async.otel.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        sqs_async.otel.uninstrument()


def _tracer(exporter: InMemorySpanExporter) -> trace.Tracer:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test")


def _producers(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.PRODUCER]


async def _receive(queue: Queue, count: int) -> list[Message]:
    got: list[Message] = []
    while len(got) < count:
        got += await queue.get_messages(min(10, count - len(got)), 30, wait_time_seconds=1)
    return got


def _traceparent(message: Message) -> str:
    value: str = message.message_attributes["traceparent"]["StringValue"]
    return value


async def test_write_is_a_producer_span_of_the_request_trace(
    spans: InMemorySpanExporter, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    with _tracer(spans).start_as_current_span("request") as request:
        sent = await queue.write("job", message_attributes={"kind": "greeting"})
    (producer,) = _producers(spans)
    assert producer.name == f"send {queue.name}"
    assert producer.parent is not None
    assert producer.parent.span_id == request.get_span_context().span_id
    assert producer.context is not None
    assert producer.context.trace_id == request.get_span_context().trace_id
    assert producer.attributes is not None
    assert producer.attributes["messaging.system"] == "aws_sqs"
    assert producer.attributes["messaging.destination.name"] == queue.name
    assert producer.attributes["messaging.operation.type"] == "send"
    assert producer.attributes["messaging.message.id"] == sent.id
    (received,) = await _receive(queue, 1)
    assert received.message_attributes["kind"]["StringValue"] == "greeting"
    trace_id = f"{producer.context.trace_id:032x}"
    span_id = f"{producer.context.span_id:016x}"
    assert _traceparent(received).startswith(f"00-{trace_id}-{span_id}-")
    # The caller's message keeps its own attributes: the context went on the wire only.
    assert "traceparent" not in sent.message_attributes


async def test_write_batch_and_batch_writer_inject_into_every_message(
    spans: InMemorySpanExporter, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    results = await queue.write_batch([f"b{i}" for i in range(12)])
    assert len(results.successful) == 12
    (batch,) = _producers(spans)
    assert batch.attributes is not None
    assert batch.attributes["messaging.batch.message_count"] == 12
    async with queue.batch_writer() as writer:
        await writer.write("w0")
        await writer.write("w1")
    producers = _producers(spans)
    assert len(producers) == 3
    span_ids = {f"{s.context.span_id:016x}" for s in producers if s.context is not None}
    received = await _receive(queue, 14)
    carried = {_traceparent(m).split("-")[2] for m in received}
    assert carried == span_ids


async def test_no_room_for_the_context_still_sends(
    spans: InMemorySpanExporter, new_queue: QueueFactory, caplog: pytest.LogCaptureFixture
) -> None:
    queue = await new_queue()
    full = {f"a{i}": str(i) for i in range(10)}
    with caplog.at_level(logging.DEBUG, logger="sqs_async.otel"):
        await queue.write("crowded", message_attributes=full)
    (received,) = await _receive(queue, 1)
    assert set(received.message_attributes) == set(full)
    assert "no room for the trace context" in caplog.text
    assert len(_producers(spans)) == 1


async def test_context_that_would_break_the_size_limit_is_skipped(
    spans: InMemorySpanExporter, new_queue: QueueFactory, caplog: pytest.LogCaptureFixture
) -> None:
    queue = await new_queue()
    limit = queue.connection.config.limits.max_message_bytes
    with caplog.at_level(logging.DEBUG, logger="sqs_async.otel"):
        await queue.write("x" * (limit - 10))
    (received,) = await _receive(queue, 1)
    assert "traceparent" not in received.message_attributes
    assert "too large for the trace context" in caplog.text


async def test_uninstrument_stops_spans_and_injection(new_queue: QueueFactory) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sqs_async.otel.instrument(tracer_provider=provider)
    sqs_async.otel.uninstrument()
    sqs_async.otel.uninstrument()  # idempotent
    queue = await new_queue()
    await queue.write("plain")
    (received,) = await _receive(queue, 1)
    assert received.message_attributes == {}
    assert exporter.get_finished_spans() == ()


def test_import_sqs_async_imports_no_opentelemetry() -> None:
    code = (
        "import sys, sqs_async, sqs_async._cli\n"
        "loaded = [m for m in sys.modules if m.startswith(('opentelemetry', 'prometheus'))]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- consuming -----------------------------------------------------------------------------


def _by_kind(exporter: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is kind]


def _span_id(span: ReadableSpan | None) -> int:
    assert span is not None
    assert span.context is not None
    span_id: int = span.context.span_id
    return span_id


async def test_handler_runs_inside_a_consumer_span_of_the_request_trace(
    spans: InMemorySpanExporter, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    tracer = _tracer(spans)
    with tracer.start_as_current_span("request") as request:
        sent = await queue.write("job")
    seen: list[int] = []

    async def handle(message: Message) -> None:
        seen.append(trace.get_current_span().get_span_context().span_id)
        with tracer.start_as_current_span("work"):
            pass

    await queue.consume(handle, stop_when_empty=True, wait_time_seconds=1)
    (producer,) = _producers(spans)
    (consumer,) = _by_kind(spans, SpanKind.CONSUMER)
    (work,) = [s for s in spans.get_finished_spans() if s.name == "work"]
    assert consumer.name == f"process {queue.name}"
    assert consumer.parent is not None
    assert consumer.parent.span_id == _span_id(producer)
    assert seen == [_span_id(consumer)]  # current while the handler ran
    assert work.parent is not None
    assert work.parent.span_id == _span_id(consumer)
    trace_ids = {s.context.trace_id for s in (producer, consumer, work) if s.context}
    assert trace_ids == {request.get_span_context().trace_id}
    assert consumer.attributes is not None
    assert consumer.attributes["messaging.system"] == "aws_sqs"
    assert consumer.attributes["messaging.destination.name"] == queue.name
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert consumer.attributes["messaging.message.id"] == sent.id
    assert consumer.attributes["sqs_async.outcome"] == "success"
    assert consumer.status.status_code is StatusCode.UNSET


async def test_outcomes_set_status_and_attributes(
    spans: InMemorySpanExporter, new_queue: QueueFactory
) -> None:
    dead = await new_queue()
    queue = await new_queue()
    for body in ("ok", "fail", "retry", "reject"):
        await queue.write(body)

    async def handle(message: Message) -> None:
        first = message.attributes.get("ApproximateReceiveCount") == "1"
        body = message.get_body()
        if body == "fail" and first:
            raise KeyError("missing")
        if body == "retry" and first:
            raise sqs_async.Retry(delay=1)
        if body == "reject":
            raise sqs_async.Reject("poison")

    await queue.consume(
        handle,
        stop_when_empty=True,
        wait_time_seconds=1,
        retry_backoff=1,
        dead_letter_queue=dead,
        concurrency=4,
    )
    outcomes: dict[str, list[tuple[str, StatusCode]]] = {}
    for span in _by_kind(spans, SpanKind.CONSUMER):
        assert span.attributes is not None
        outcome = str(span.attributes["sqs_async.outcome"])
        outcomes.setdefault(str(span.attributes["messaging.message.id"]), []).append(
            (outcome, span.status.status_code)
        )
    assert len(outcomes) == 4
    observed = sorted(sorted(results) for results in outcomes.values())
    assert observed == sorted(
        [
            [("success", StatusCode.UNSET)],
            sorted([("failure", StatusCode.ERROR), ("success", StatusCode.UNSET)]),
            sorted([("retry", StatusCode.UNSET), ("success", StatusCode.UNSET)]),
            [("reject", StatusCode.ERROR)],
        ]
    )
    failed = [
        s
        for s in _by_kind(spans, SpanKind.CONSUMER)
        if s.attributes and s.attributes["sqs_async.outcome"] == "failure"
    ]
    assert [e.name for e in failed[0].events] == ["exception"]
    retried = [
        s
        for s in _by_kind(spans, SpanKind.CONSUMER)
        if s.attributes and s.attributes["sqs_async.outcome"] == "retry"
    ]
    assert retried[0].attributes is not None
    assert retried[0].attributes["sqs_async.retry.delay"] == 1.0


async def test_a_batch_span_links_every_producer(
    spans: InMemorySpanExporter, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    for i in range(3):
        await queue.write(f"b{i}")
    producers = {_span_id(s) for s in _producers(spans)}
    calls = 0

    async def handle(messages: list[Message]) -> list[Message]:
        nonlocal calls
        calls += 1
        # The first call reports its first message failed (it comes back later).
        return messages[:1] if calls == 1 else []

    await queue.consume_batches(
        handle,
        max_batch=10,
        max_wait=1.0,
        stop_when_empty=True,
        wait_time_seconds=1,
        retry_backoff=1,
    )
    batches = _by_kind(spans, SpanKind.CONSUMER)
    linked = {link.context.span_id for span in batches for link in span.links}
    assert linked == producers
    for span in batches:
        assert span.attributes is not None
        assert span.attributes["messaging.batch.message_count"] == len(span.links)
        assert span.parent is None or span.parent.span_id not in producers
    first = batches[0]
    assert first.attributes is not None
    assert first.attributes["sqs_async.outcome"] == "partial"
    assert first.status.status_code is StatusCode.ERROR


async def test_aws_trace_header_parents_the_consumer_span(
    spans: InMemorySpanExporter, new_queue: QueueFactory
) -> None:
    queue = await new_queue()
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    await queue.connection.send_message(
        QueueUrl=queue.url,
        MessageBody="from x-ray",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": header}},
    )

    async def handle(message: Message) -> None:
        pass

    await queue.consume(handle, stop_when_empty=True, wait_time_seconds=1)
    (consumer,) = _by_kind(spans, SpanKind.CONSUMER)
    assert consumer.parent is not None
    assert consumer.parent.span_id == 0x53995C3F42CD8AD8
    assert consumer.parent.trace_id == 0x5759E988BD862E3FE1BE46A994272793
