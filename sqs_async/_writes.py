"""Writing messages: the SendMessage entry of a message, and the paths of ``write_batch``.

Layer: above the batch calls (``_batch_calls``), below the batchers and the queue. Every
message is checked here, once, before any I/O (the client does not check again): its body
(type, emptiness, characters, size) and, for entries with more than a body, the whole
entry. Batches are split in order within 10 entries and the size limit.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from . import _instrument
from ._batch_calls import BatchResults, send_batch
from ._config import MAX_BATCH_ENTRIES
from ._message import Message, to_wire_attributes
from ._protocol.batches import ENTRY_IDS, split_batches
from ._protocol.validate import body_size, clean_ascii, entry_size
from .errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ._queue import Queue

__all__ = ["entry", "write_bodies", "write_entries"]

_IDS = ENTRY_IDS


def entry(
    queue: Queue,
    message: Message,
    delay_seconds: int | None,
    message_attributes: dict[str, Any] | None,
    group_id: str | None,
    deduplication_id: str | None,
) -> dict[str, Any]:
    """The SendMessage(Batch) entry of ``message`` (without ``Id`` and ``QueueUrl``).

    ``message_attributes``, when given, replace the message's own.
    """
    built: dict[str, Any] = {"MessageBody": message.get_body_encoded()}
    if message_attributes is not None:
        message.message_attributes = to_wire_attributes(message_attributes)
    if message.message_attributes:
        built["MessageAttributes"] = message.message_attributes
    if delay_seconds is not None:
        built["DelaySeconds"] = delay_seconds
    if group_id is not None:
        built["MessageGroupId"] = group_id
    if deduplication_id is not None:
        built["MessageDeduplicationId"] = deduplication_id
    if _instrument.sends is not None:  # tracing (sqs_async.otel) injects its context
        _instrument.sends.entry(queue, built)
    return built


async def write_bodies(queue: Queue, messages: Iterable[Message | Any]) -> BatchResults:
    """write_batch of messages that are bodies alone (the common case), in one pass.

    Each body is encoded, checked (type, emptiness, characters, size) and counted once;
    the entries are built with their ids. The first message that is more than a body
    (attributes, a boto tuple) hands everything to :func:`write_entries`.
    """
    limit = queue.connection.config.limits.max_message_bytes
    new = queue.new_message
    chosen: list[Message] = []
    texts: list[str] = []
    total = 0
    index = 0
    items = iter(messages)
    for item in items:
        if isinstance(item, Message):
            if item.message_attributes:
                return await write_entries(
                    queue, itertools.chain(chosen, (item,), items), None, None, None
                )
            message = item
        elif isinstance(item, tuple):
            return await write_entries(
                queue, itertools.chain(chosen, (item,), items), None, None, None
            )
        else:
            message = new(item)
        text = message.get_body_encoded()
        if text.__class__ is not str or not text:
            body_size(text, limit, f"messages[{index}]")  # raises, but for a str subclass
        total += len(text)
        chosen.append(message)
        texts.append(text)
        index += 1
    results = BatchResults()
    if not index:
        return results
    # All the bodies checked at once (most are clean ASCII: their sizes are their lengths);
    # otherwise one by one, the first bad one named in the error.
    if total <= limit and clean_ascii("".join(texts)):
        sizes = None
    else:
        sizes = [body_size(t, limit, f"messages[{i}]") for i, t in enumerate(texts)]
        total = sum(sizes)
    if index <= MAX_BATCH_ENTRIES and total <= limit:
        entries = [{"Id": i, "MessageBody": t} for i, t in zip(_IDS, texts, strict=False)]
        await send_batch(queue, chosen, entries, results)
        return results
    for batch in split_batches(sizes or [len(t) for t in texts], limit):
        start, stop = batch.start, batch.stop
        entries = [
            {"Id": i, "MessageBody": t} for i, t in zip(_IDS, texts[start:stop], strict=False)
        ]
        await send_batch(queue, chosen[start:stop], entries, results)
    return results


async def write_entries(
    queue: Queue,
    messages: Iterable[Message | Any],
    delay_seconds: int | None,
    group_id: str | None,
    deduplication_ids: Sequence[str] | None,
) -> BatchResults:
    """write_batch of messages with attributes, delays or FIFO ids."""
    items = [(m, None, None) if isinstance(m, Message) else _batch_item(queue, m) for m in messages]
    dedup: Sequence[str | None] = [None] * len(items)
    if deduplication_ids is not None:
        if isinstance(deduplication_ids, str) or len(deduplication_ids) != len(items):
            raise ValidationError(
                f"deduplication_ids must be a sequence of one id per message "
                f"({len(items)} messages)"
            )
        dedup = deduplication_ids
    results = BatchResults()
    if not items:
        return results
    limit = queue.connection.config.limits.max_message_bytes
    entries = []
    sizes = []
    for index, (message, delay, attributes) in enumerate(items):
        built = entry(
            queue,
            message,
            delay if delay is not None else delay_seconds,
            attributes,
            group_id,
            dedup[index],
        )
        sizes.append(entry_size(built, limit, f"messages[{index}]"))
        entries.append(built)
    for batch in split_batches(sizes, limit):
        wire = []
        for entry_id, index in zip(_IDS, batch, strict=False):
            built = entries[index]
            built["Id"] = entry_id  # our own ids: positions, never MessageIds
            wire.append(built)
        await send_batch(queue, [items[i][0] for i in batch], wire, results)
    return results


def _batch_item(queue: Queue, item: Any) -> tuple[Message, int | None, dict[str, Any] | None]:
    if isinstance(item, tuple):
        if not 3 <= len(item) <= 4:
            raise ValidationError("batch tuples are (id, body, delay_seconds[, attributes])")
        attributes = item[3] if len(item) == 4 else None
        body = item[1]
        return _as_message(queue, body), item[2], attributes
    return _as_message(queue, item), None, None


def _as_message(queue: Queue, item: Any) -> Message:
    return item if isinstance(item, Message) else queue.new_message(item)
