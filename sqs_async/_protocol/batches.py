"""Splitting any number of messages into SQS batches.

A batch holds at most :data:`~sqs_async._config.MAX_BATCH_ENTRIES` entries and at most the
message size limit in bytes. Order is kept and every message lands in exactly one batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._config import MAX_BATCH_ENTRIES
from ..errors import MessageTooLarge

__all__ = ["ENTRY_IDS", "ENTRY_POSITIONS", "split_batches"]

#: The entry ids of a batch call: the entries' positions, prebuilt ("0" to "9").
ENTRY_IDS = tuple(str(position) for position in range(MAX_BATCH_ENTRIES))
#: An entry id back to its position.
ENTRY_POSITIONS = {entry_id: position for position, entry_id in enumerate(ENTRY_IDS)}


def split_batches(
    sizes: Sequence[int], limit: int, max_entries: int = MAX_BATCH_ENTRIES
) -> list[range]:
    """Split messages of the given byte sizes into consecutive batches.

    Args:
        sizes: The size in bytes of each message, in order.
        limit: The largest total size of one batch in bytes.
        max_entries: The most entries in one batch.

    Returns:
        Index ranges, one per batch, covering ``range(len(sizes))`` in order.

    Raises:
        MessageTooLarge: One message alone is over ``limit``.
    """
    batches: list[range] = []
    start = 0
    total = 0
    for index, size in enumerate(sizes):
        if size > limit:
            raise MessageTooLarge(f"message {index} is {size} bytes; the limit is {limit} bytes")
        if index - start == max_entries or total + size > limit:
            batches.append(range(start, index))
            start = index
            total = 0
        total += size
    if start < len(sizes):
        batches.append(range(start, len(sizes)))
    return batches
