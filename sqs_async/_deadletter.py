"""Dead-lettering a rejected message ourselves (a handler raised ``Reject(reason)``, SPEC §6).

Layer: beside the outcomes, below the consumer; it talks to SQS through the queue handle.
The target is the consumer's ``dead_letter_queue`` (a queue, URL, ARN or name) or else the
``deadLetterTargetArn`` of the queue's ``RedrivePolicy``, looked up once, on the first
rejection (a consumer that never rejects pays nothing). The copy keeps the body (the wire
text), the message attributes (plus the reason, when there is room for one more
attribute) and the FIFO group; on a FIFO target its deduplication id is the original's (or
its message id), so a copy sent twice is stored once.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from ._config import MAX_MESSAGE_ATTRIBUTES
from ._message import Message

if TYPE_CHECKING:
    from ._queue import Queue

__all__ = ["REASON_ATTRIBUTE", "DeadLetters"]

REASON_ATTRIBUTE = "SqsAsyncRejectReason"


class DeadLetters:
    """Sends rejected messages to a dead-letter queue.

    Args:
        queue: The queue being consumed.
        target: The dead-letter queue (a :class:`~sqs_async.Queue`, URL, ARN or name), or
            ``None`` for the one in the queue's ``RedrivePolicy``.
    """

    def __init__(self, queue: Queue, target: Queue | str | None) -> None:
        self.queue = queue
        self._target = target
        self._resolved: asyncio.Future[Queue | None] | None = None

    async def target(self) -> Queue | None:
        """The dead-letter queue, or ``None`` when there is none (looked up once).

        Raises:
            SQSError: The lookup failed (it is tried again on the next rejection).
        """
        if self._resolved is None or (
            self._resolved.done() and self._resolved.exception() is not None
        ):
            self._resolved = asyncio.ensure_future(self._resolve())
        return await asyncio.shield(self._resolved)

    async def _resolve(self) -> Queue | None:
        target = self._target
        if target is None:
            attributes = await self.queue.get_attributes("RedrivePolicy")
            policy = attributes.get("RedrivePolicy")
            if not policy:
                return None
            target = str(json.loads(policy).get("deadLetterTargetArn") or "")
            if not target:
                return None
        if not isinstance(target, str):
            return target
        make = type(self.queue)
        if target.startswith(("http://", "https://")):
            return make(self.queue.connection, target)
        params: dict[str, Any] = {"QueueName": target}
        if target.startswith("arn:"):  # arn:aws:sqs:region:account:name
            parts = target.split(":")
            params = {"QueueName": parts[-1], "QueueOwnerAWSAccountId": parts[4]}
        result = await self.queue.connection._call("GetQueueUrl", params)
        return make(self.queue.connection, result["QueueUrl"])

    async def send(self, target: Queue, message: Message, reason: str) -> None:
        """Store a copy of ``message`` in ``target``.

        Raises:
            SQSError: It was not stored (the caller keeps the original).
        """
        copy = Message()
        copy.set_body_encoded(message.get_body_encoded())
        attributes = dict(message.message_attributes)
        if reason and len(attributes) < MAX_MESSAGE_ATTRIBUTES:
            attributes[REASON_ATTRIBUTE] = {"DataType": "String", "StringValue": reason[:1024]}
        copy.message_attributes = attributes
        group = message.attributes.get("MessageGroupId")
        deduplication = None
        if target.fifo:
            group = group or message.id
            deduplication = message.attributes.get("MessageDeduplicationId") or message.id
        await target.write(copy, group_id=group, deduplication_id=deduplication)
