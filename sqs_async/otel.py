"""Tracing across the queue with OpenTelemetry (the ``otel`` extra: ``opentelemetry-api``).

Call :func:`instrument` once at start-up; :func:`uninstrument` undoes it. Until then nothing
of OpenTelemetry is imported by ``sqs_async`` and its send and consume paths cost nothing
more (one ``None`` check per send).

* **Sends** (``queue.write``, ``queue.write_batch``, ``queue.batch_writer().write``) get a
  PRODUCER span ``send <queue>``, and the span's context is injected into the message's
  attributes with the propagator (W3C ``traceparent``/``tracestate`` by default). Those
  attributes count toward the 10-attribute and size limits: a message that has no room left
  is still sent, without the context (logged at DEBUG on the ``sqs_async.otel`` logger).
* **Consumers** started after :func:`instrument` (``consume()``, ``consume_batches()``,
  the ``sqs-async worker`` runner) run each handler inside a CONSUMER span
  ``process <queue>``, current while the handler runs (its own spans are children). A
  single message's span is the child of the producer's context (the injected attributes, or
  else the ``AWSTraceHeader`` system attribute that X-Ray-enabled senders set); a batch's
  span links to every producer context. The outcome sets the status: success leaves it
  unset, a failure or ``Reject`` sets ERROR, ``Retry`` leaves it unset; the attribute
  ``sqs_async.outcome`` says which (``success``, ``failure``, ``retry``, ``reject``,
  ``partial``, ``cancelled``).
* Attributes follow the OpenTelemetry messaging semantic conventions:
  ``messaging.system = "aws_sqs"``, ``messaging.destination.name``,
  ``messaging.message.id``, ``messaging.operation.type`` (``send``/``process``),
  ``messaging.operation.name``, ``messaging.batch.message_count``.

Example::

    from opentelemetry.sdk.trace import TracerProvider
    import sqs_async.otel

    sqs_async.otel.instrument(tracer_provider=TracerProvider())
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.propagators.textmap import Getter, TextMapPropagator
    from opentelemetry.trace import (
        Link,
        NonRecordingSpan,
        Span,
        SpanContext,
        SpanKind,
        Status,
        StatusCode,
        TraceFlags,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("sqs_async.otel needs OpenTelemetry: pip install 'sqs_async[otel]'") from exc

from . import _instrument
from ._config import MAX_MESSAGE_ATTRIBUTES
from ._message import Message
from ._outcomes import HandlerCall, Reject, Retry, add_middleware, remove_middleware
from ._protocol.validate import entry_size
from .errors import MessageTooLarge, ValidationError

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["consumer_middleware", "instrument", "producer_context", "uninstrument"]

log = logging.getLogger("sqs_async.otel")

T = TypeVar("T")

SYSTEM = "aws_sqs"
XRAY_HEADER = "AWSTraceHeader"

_sending: contextvars.ContextVar[bool] = contextvars.ContextVar("sqs_async_otel_sending")


@dataclass(frozen=True, slots=True)
class _Instrumentation:
    tracer: trace.Tracer
    propagator: TextMapPropagator | None  # None: the global one, looked up at each use

    def textmap(self) -> TextMapPropagator:
        return self.propagator if self.propagator is not None else propagate.get_global_textmap()


_state: _Instrumentation | None = None


def instrument(
    tracer_provider: trace.TracerProvider | None = None,
    propagator: TextMapPropagator | None = None,
) -> None:
    """Trace sends and handlers from now on (see the module docs). Calling it again
    replaces the provider and propagator.

    Args:
        tracer_provider: Where spans go (default: the global tracer provider).
        propagator: How context is written into and read from message attributes
            (default: the global propagator, W3C trace context and baggage unless
            configured otherwise).
    """
    global _state
    from . import __version__

    tracer = trace.get_tracer("sqs_async", __version__, tracer_provider=tracer_provider)
    _state = _Instrumentation(tracer, propagator)
    _instrument.sends = _PRODUCER
    add_middleware(consumer_middleware)


def uninstrument() -> None:
    """Stop tracing: sends are no longer wrapped, and consumers started from now on run
    handlers without spans. Idempotent."""
    global _state
    _state = None
    _instrument.sends = None
    remove_middleware(consumer_middleware)


def _base_attributes(queue: Queue, operation_type: str, operation: str) -> dict[str, Any]:
    return {
        "messaging.system": SYSTEM,
        "messaging.destination.name": queue.name,
        "messaging.operation.type": operation_type,
        "messaging.operation.name": operation,
    }


# -- producing ---------------------------------------------------------------------------


class _Producer:
    """The send observer (``sqs_async._instrument.SendObserver``)."""

    def wrapping(self) -> bool:
        return _sending.get(False)

    async def send(self, queue: Queue, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        state = _state
        if state is None:  # uninstrumented while this send was starting
            token = _sending.set(True)
            try:
                return await call()
            finally:
                _sending.reset(token)
        attributes = _base_attributes(queue, "send", "send")
        attributes["sqs_async.operation"] = operation
        span = state.tracer.start_span(
            f"send {queue.name}", kind=SpanKind.PRODUCER, attributes=attributes
        )
        token = _sending.set(True)
        # The span is current while the entries are built: entry() injects its context.
        with trace.use_span(
            span, end_on_exit=True, record_exception=False, set_status_on_exception=False
        ):
            try:
                result = await call()
            except BaseException as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            finally:
                _sending.reset(token)
            _record_sent(span, result)
        return result

    def entry(self, queue: Queue, entry: dict[str, Any]) -> None:
        state = _state
        if state is None:
            return
        carrier: dict[str, str] = {}
        state.textmap().inject(carrier)
        if not carrier:
            return
        existing: dict[str, Any] = entry.get("MessageAttributes") or {}
        room = MAX_MESSAGE_ATTRIBUTES - len(existing)
        fields = [(k, v) for k, v in carrier.items() if k not in existing][: max(room, 0)]
        if not fields:
            log.debug(
                "message to %s has %d attributes: no room for the trace context",
                queue.name,
                len(existing),
            )
            return
        attributes = dict(existing)  # a copy: the caller's message keeps its own attributes
        for name, value in fields:
            attributes[name] = {"DataType": "String", "StringValue": value}
        if not _fits(queue, entry, attributes):
            log.debug("message to %s is too large for the trace context: skipped", queue.name)
            return
        entry["MessageAttributes"] = attributes


_PRODUCER = _Producer()


def _fits(queue: Queue, entry: Mapping[str, Any], attributes: dict[str, Any]) -> bool:
    """Whether the entry with these attributes is within the message size limit."""
    limit = queue.connection.config.limits.max_message_bytes
    try:
        entry_size({**entry, "MessageAttributes": attributes}, limit)
    except MessageTooLarge:
        return False
    except ValidationError:
        return True  # invalid anyway: the send path reports it, not the tracing
    return True


def _record_sent(span: Span, result: object) -> None:
    if isinstance(result, Message):
        if result.id:
            span.set_attribute("messaging.message.id", result.id)
        return
    successful = getattr(result, "successful", None)
    failed = getattr(result, "failed", None)
    if successful is None or failed is None:
        return
    span.set_attribute("messaging.batch.message_count", len(successful) + len(failed))
    if failed:
        span.set_status(
            Status(StatusCode.ERROR, f"{len(failed)} of {len(successful) + len(failed)} failed")
        )


# -- consuming ---------------------------------------------------------------------------


class _AttributeGetter(Getter[Mapping[str, Any]]):
    """Reads propagation fields from message attributes in the SQS wire shape."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        if not isinstance(value, Mapping):
            return None
        text = value.get("StringValue")
        return [text] if isinstance(text, str) else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return list(carrier)


_GETTER = _AttributeGetter()


def _xray_context(header: str) -> otel_context.Context | None:
    """The parent named by an ``AWSTraceHeader`` (``Root=1-<8 hex>-<24 hex>;Parent=<16
    hex>;Sampled=1``), the X-Ray format AWS documents for SQS."""
    fields = dict(part.strip().split("=", 1) for part in header.split(";") if "=" in part)
    root = fields.get("Root", "").split("-")
    if len(root) != 3 or root[0] != "1":
        return None
    try:
        trace_id = int(root[1] + root[2], 16)
        span_id = int(fields.get("Parent", ""), 16)
    except ValueError:
        return None
    if not trace_id or not span_id or trace_id >> 128 or span_id >> 64:
        return None
    flags = TraceFlags(TraceFlags.SAMPLED if fields.get("Sampled") == "1" else TraceFlags.DEFAULT)
    span_context = SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(NonRecordingSpan(span_context))


def producer_context(
    message: Message, propagator: TextMapPropagator | None = None
) -> otel_context.Context | None:
    """The producer's context carried by a received message, or ``None``.

    The propagator's fields in the message attributes win; else ``AWSTraceHeader``.
    """
    textmap = propagator or (_state.textmap() if _state else propagate.get_global_textmap())
    if message.message_attributes:
        context = textmap.extract(message.message_attributes, getter=_GETTER)
        if trace.get_current_span(context).get_span_context().is_valid:
            return context
    header = message.attributes.get(XRAY_HEADER)
    return _xray_context(header) if header else None


async def consumer_middleware(call: HandlerCall, call_next: Callable[[], Awaitable[Any]]) -> Any:
    """The middleware :func:`instrument` adds to every consumer: a CONSUMER span per call."""
    state = _state
    if state is None:  # uninstrumented after this consumer started
        return await call_next()
    messages: Sequence[Message] = call.messages
    attributes = _base_attributes(call.queue, "process", "process")
    parent: otel_context.Context | None = None
    links: list[Link] = []
    if call.batch:
        attributes["messaging.batch.message_count"] = len(messages)
        for message in messages:
            context = producer_context(message, state.propagator)
            if context is not None:
                links.append(Link(trace.get_current_span(context).get_span_context()))
    else:
        message = messages[0]
        if message.id:
            attributes["messaging.message.id"] = message.id
        parent = producer_context(message, state.propagator)
    span = state.tracer.start_span(
        f"process {call.queue.name}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        links=links,
    )
    with trace.use_span(
        span, end_on_exit=True, record_exception=False, set_status_on_exception=False
    ):
        try:
            result = await call_next()
        except Retry as exc:
            span.set_attribute("sqs_async.outcome", "retry")
            span.set_attribute("sqs_async.retry.delay", exc.delay)
            raise
        except Reject as exc:
            span.set_attribute("sqs_async.outcome", "reject")
            span.set_status(Status(StatusCode.ERROR, f"rejected: {exc.reason}"))
            raise
        except asyncio.CancelledError:
            span.set_attribute("sqs_async.outcome", "cancelled")
            raise
        except Exception as exc:
            span.set_attribute("sqs_async.outcome", "failure")
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        if call.batch and isinstance(result, Iterable):
            failed = list(result)
            result = failed  # the consumer reads it after us: hand it on unconsumed
            if failed:
                span.set_attribute("sqs_async.outcome", "partial")
                span.set_attribute("sqs_async.failed_count", len(failed))
                span.set_status(
                    Status(StatusCode.ERROR, f"{len(failed)} of {len(messages)} failed")
                )
                return result
        span.set_attribute("sqs_async.outcome", "success")
    return result
