"""In-memory SQS queues for the benchmark server: the queue semantics, nothing about HTTP.

Layer: below `benchmarks.server` and `benchmarks._query`; stdlib only.

What is modelled (standard queues): send (with delay), receive (with visibility timeout,
receive count, system and message attributes), delete, change visibility, their batch forms,
purge, queue attributes, and long polling through waiters that the HTTP layer registers.
The MD5s follow the AWS algorithm (body: MD5 of the UTF-8 bytes; message attributes: sorted
names, each field length-prefixed, transport byte 1 for String/Number and 2 for Binary), see
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html

Hot paths avoid allocation: messages are slotted objects, the visible set is a deque with lazy
removal, in-flight expiry is a heap that is checked only when its earliest deadline has passed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import heapq
import os
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_MESSAGE_BYTES = 1_048_576
MAX_BATCH_ENTRIES = 10
ACCOUNT_ID = "000000000000"

VISIBLE, INFLIGHT, DELAYED, DELETED = 0, 1, 2, 3

# Receipt handles on AWS are opaque base64 strings of ~180+ characters; a realistic length keeps
# the clients' parsing cost honest. The first 36 characters carry queue id, seq and receive count.
_HANDLE_FILLER = base64.b64encode(hashlib.sha512(b"sqs-bench").digest() * 2).decode()[:148]
_ID_PREFIX = os.urandom(4).hex()


_BAD_NAME = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"


class SQSFault(Exception):
    """An SQS error: the HTTP layer renders it in the protocol of the request."""

    def __init__(self, code: str, message: str, *, query_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.query_code = query_code or code
        self.sender = True


def invalid(message: str) -> SQSFault:
    return SQSFault("InvalidParameterValue", message)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@functools.lru_cache(maxsize=4096)
def _cached_body_md5(body: str) -> str:
    return md5_hex(body.encode())


def md5_of_body(body: str) -> str:
    """MD5OfMessageBody; small bodies are memoized (load tests repeat the same few bodies)."""
    if len(body) <= 4096:
        return _cached_body_md5(body)
    return md5_hex(body.encode())


def _field(out: list[bytes], data: bytes) -> None:
    out.append(struct.pack(">I", len(data)))
    out.append(data)


def md5_of_attributes(attrs: dict[str, dict[str, Any]]) -> str:
    """MD5OfMessageAttributes per the AWS algorithm (values as in the JSON protocol)."""
    out: list[bytes] = []
    for name in sorted(attrs):
        value = attrs[name]
        data_type = value.get("DataType", "")
        _field(out, name.encode())
        _field(out, data_type.encode())
        if "StringValue" in value:
            out.append(b"\x01")
            _field(out, str(value["StringValue"]).encode())
        elif "BinaryValue" in value:
            out.append(b"\x02")
            raw = value["BinaryValue"]
            _field(out, base64.b64decode(raw) if isinstance(raw, str) else bytes(raw))
        else:
            raise invalid(f"Message attribute '{name}' must contain a non-empty value")
    return md5_hex(b"".join(out))


def _check_attributes(attrs: Any) -> None:
    if not isinstance(attrs, dict):
        raise invalid("MessageAttributes must be a map")
    if len(attrs) > 10:
        raise invalid("Number of message attributes exceeds the limit of 10")
    for name, value in attrs.items():
        if not isinstance(value, dict) or not value.get("DataType"):
            raise invalid(f"Message attribute '{name}' must contain a DataType")
        if not value["DataType"].startswith(("String", "Number", "Binary")):
            raise invalid(f"Message attribute '{name}' has an invalid DataType")


def _attributes_size(attrs: dict[str, dict[str, Any]]) -> int:
    size = 0
    for name, value in attrs.items():
        size += len(name.encode()) + len(value["DataType"].encode())
        size += len(str(value.get("StringValue", value.get("BinaryValue", ""))).encode())
    return size


class Message:
    __slots__ = (
        "attrs",
        "body",
        "first_receive_ms",
        "md5_attrs",
        "md5_body",
        "receive_count",
        "sent_ms",
        "seq",
        "state",
        "visible_at",
    )

    def __init__(
        self, seq: int, body: str, attrs: dict[str, Any] | None, md5_attrs: str | None, sent_ms: int
    ) -> None:
        self.seq = seq
        self.body = body
        self.md5_body = md5_of_body(body)
        self.attrs = attrs
        self.md5_attrs = md5_attrs
        self.sent_ms = sent_ms
        self.first_receive_ms = 0
        self.receive_count = 0
        self.state = VISIBLE
        self.visible_at = 0.0

    @property
    def id(self) -> str:
        """MessageId, built on demand (saves memory when a queue holds 500,000 messages)."""
        return f"{_ID_PREFIX}-0000-4000-8000-{self.seq:012x}"


def int_param(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid(f"Value {raw!r} for parameter {name} is invalid") from None
    if not low <= value <= high:
        raise invalid(f"Value {value} for parameter {name} is invalid. Must be {low}..{high}")
    return value


class Queue:
    """One standard queue."""

    def __init__(self, qid: int, name: str, url: str, attributes: dict[str, str]) -> None:
        self.qid = qid
        self.name = name
        self.url = url
        now = str(int(time.time()))
        self.attributes: dict[str, str] = {
            "VisibilityTimeout": "30",
            "DelaySeconds": "0",
            "ReceiveMessageWaitTimeSeconds": "0",
            "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
            "MessageRetentionPeriod": "345600",
            "CreatedTimestamp": now,
            "LastModifiedTimestamp": now,
            "QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{name}",
        }
        self.set_attributes(attributes)
        self.messages: dict[int, Message] = {}
        self.visible: deque[Message] = deque()
        self.inflight: list[tuple[float, int, int]] = []  # (visible_at, seq, receive_count)
        self.delayed: list[tuple[float, int]] = []  # (ready_at, seq)
        self.counts = [0, 0, 0]  # by state: visible, in flight, delayed
        self.waiters: deque[Callable[[], bool]] = deque()
        self._seq = 0

    def set_attributes(self, attributes: dict[str, str]) -> None:
        for key, value in attributes.items():
            if key in ("VisibilityTimeout", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
                high = {"VisibilityTimeout": 43200, "DelaySeconds": 900}.get(key, 20)
                int_param({key: value}, key, 0, 0, high)
            self.attributes[key] = str(value)
        self.visibility_timeout = int(self.attributes["VisibilityTimeout"])
        self.delay_seconds = int(self.attributes["DelaySeconds"])

    # ---- sending -------------------------------------------------------------------------

    def send(self, entry: dict[str, Any]) -> Message:
        """Store one message (SendMessage or one batch entry); returns it."""
        body = entry.get("MessageBody")
        if not body:
            raise SQSFault(
                "MissingParameter", "The request must contain the parameter MessageBody."
            )
        attrs = entry.get("MessageAttributes") or None
        size = len(body.encode())
        md5_attrs = None
        if attrs:
            _check_attributes(attrs)
            size += _attributes_size(attrs)
            md5_attrs = md5_of_attributes(attrs)
        if size > MAX_MESSAGE_BYTES:
            raise invalid(f"Message must be shorter than {MAX_MESSAGE_BYTES} bytes.")
        delay = int_param(entry, "DelaySeconds", self.delay_seconds, 0, 900)
        self._seq += 1
        msg = Message(self._seq, body, attrs, md5_attrs, int(time.time() * 1000))
        self.messages[msg.seq] = msg
        if delay:
            msg.state = DELAYED
            heapq.heappush(self.delayed, (time.monotonic() + delay, msg.seq))
            self.counts[DELAYED] += 1
        else:
            self.visible.append(msg)
            self.counts[VISIBLE] += 1
            if self.waiters:
                self.wake()
        return msg

    def fill(self, count: int, body: str) -> None:
        """Bulk-load visible messages without going through HTTP (benchmark setup only)."""
        now_ms = int(time.time() * 1000)
        for _ in range(count):
            self._seq += 1
            msg = Message(self._seq, body, None, None, now_ms)
            self.messages[msg.seq] = msg
            self.visible.append(msg)
        self.counts[VISIBLE] += count
        self.wake()

    # ---- receiving -----------------------------------------------------------------------

    def _refresh(self, now: float) -> None:
        """Move due delayed messages and expired in-flight messages back to visible."""
        delayed = self.delayed
        while delayed and delayed[0][0] <= now:
            _, seq = heapq.heappop(delayed)
            msg = self.messages.get(seq)
            if msg is not None and msg.state == DELAYED:
                msg.state = VISIBLE
                self.counts[DELAYED] -= 1
                self.counts[VISIBLE] += 1
                self.visible.append(msg)
        inflight = self.inflight
        while inflight and inflight[0][0] <= now:
            due, seq, _ = heapq.heappop(inflight)
            msg = self.messages.get(seq)
            if msg is not None and msg.state == INFLIGHT and msg.visible_at == due:
                msg.state = VISIBLE
                self.counts[INFLIGHT] -= 1
                self.counts[VISIBLE] += 1
                self.visible.append(msg)
        # Deleted messages leave stale heap entries; rebuild when they dominate.
        if len(inflight) > 2 * self.counts[INFLIGHT] + 4096:
            self.inflight = [
                (m.visible_at, m.seq, m.receive_count)
                for m in self.messages.values()
                if m.state == INFLIGHT
            ]
            heapq.heapify(self.inflight)

    def next_event(self) -> float | None:
        """Monotonic time at which a message may become visible, for long-poll waiters."""
        times = [h[0][0] for h in (self.inflight, self.delayed) if h]
        return min(times) if times else None

    def receive(self, max_messages: int, visibility_timeout: int) -> list[Message]:
        now = time.monotonic()
        if (self.inflight and self.inflight[0][0] <= now) or (
            self.delayed and self.delayed[0][0] <= now
        ):
            self._refresh(now)
        visible = self.visible
        out: list[Message] = []
        now_ms = 0
        while visible and len(out) < max_messages:
            msg = visible.popleft()
            if msg.state != VISIBLE:
                continue  # deleted or re-hidden after it was queued here
            msg.receive_count += 1
            if not now_ms:
                now_ms = int(time.time() * 1000)
            if not msg.first_receive_ms:
                msg.first_receive_ms = now_ms
            out.append(msg)
        if not out:
            return out
        counts = self.counts
        counts[VISIBLE] -= len(out)
        if visibility_timeout:
            due = now + visibility_timeout
            push = heapq.heappush
            inflight = self.inflight
            for msg in out:
                msg.state = INFLIGHT
                msg.visible_at = due
                push(inflight, (due, msg.seq, msg.receive_count))
            counts[INFLIGHT] += len(out)
        else:
            visible.extend(out)  # visible again at once, for the next receiver
            counts[VISIBLE] += len(out)
        return out

    def handle(self, msg: Message) -> str:
        return f"AQEB{self.qid:08x}{msg.seq:016x}{msg.receive_count:08x}{_HANDLE_FILLER}"

    def _lookup(self, receipt_handle: Any) -> tuple[Message | None, int]:
        """The message a receipt handle names (None when already deleted), and its count."""
        if not isinstance(receipt_handle, str) or not receipt_handle.startswith("AQEB"):
            raise SQSFault(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.',
            )
        try:
            qid = int(receipt_handle[4:12], 16)
            seq = int(receipt_handle[12:28], 16)
            count = int(receipt_handle[28:36], 16)
        except ValueError:
            qid = -1
        if qid != self.qid:
            raise SQSFault(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.',
            )
        return self.messages.get(seq), count

    def delete(self, receipt_handle: Any) -> None:
        # As on AWS, deleting an already-deleted message with a well-formed handle succeeds.
        msg, _ = self._lookup(receipt_handle)
        if msg is None:
            return
        del self.messages[msg.seq]
        self.counts[msg.state] -= 1
        msg.state = DELETED

    def change_visibility(self, receipt_handle: Any, timeout: Any) -> None:
        seconds = int_param({"VisibilityTimeout": timeout}, "VisibilityTimeout", 0, 0, 43200)
        msg, count = self._lookup(receipt_handle)
        if msg is None or msg.state != INFLIGHT or msg.receive_count != count:
            raise SQSFault(
                "MessageNotInflight",
                "Message does not exist or is not available for visibility timeout change.",
                query_code="AWS.SimpleQueueService.MessageNotInflight",
            )
        if seconds:
            msg.visible_at = time.monotonic() + seconds
            heapq.heappush(self.inflight, (msg.visible_at, msg.seq, msg.receive_count))
        else:
            msg.state = VISIBLE
            self.counts[INFLIGHT] -= 1
            self.counts[VISIBLE] += 1
            self.visible.appendleft(msg)
            if self.waiters:
                self.wake()

    def purge(self) -> int:
        removed = len(self.messages)
        for msg in self.messages.values():
            msg.state = DELETED
        self.messages.clear()
        self.visible.clear()
        self.inflight.clear()
        self.delayed.clear()
        self.counts = [0, 0, 0]
        return removed

    def get_attributes(self, names: list[str]) -> dict[str, str]:
        self._refresh(time.monotonic())
        values = dict(self.attributes)
        values["ApproximateNumberOfMessages"] = str(self.counts[VISIBLE])
        values["ApproximateNumberOfMessagesNotVisible"] = str(self.counts[INFLIGHT])
        values["ApproximateNumberOfMessagesDelayed"] = str(self.counts[DELAYED])
        if not names or "All" in names:
            return values
        return {name: values[name] for name in names if name in values}

    def wake(self) -> None:
        """Let waiting long polls try again; a waiter returns True when it is done."""
        for _ in range(len(self.waiters)):
            if not self.counts[VISIBLE]:
                return
            waiter = self.waiters.popleft()
            if not waiter():
                self.waiters.append(waiter)


class Store:
    """All queues of the server, by name."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.queues: dict[str, Queue] = {}
        self._next_qid = 1

    def create(self, name: Any, attributes: dict[str, str] | None = None) -> Queue:
        if not isinstance(name, str) or not name or len(name) > 80:
            raise invalid(_BAD_NAME)
        stem = name.removesuffix(".fifo")
        if not stem.replace("-", "").replace("_", "").isalnum():
            raise invalid(_BAD_NAME)
        queue = self.queues.get(name)
        if queue is None:
            url = f"{self.base_url}/{ACCOUNT_ID}/{name}"
            queue = Queue(self._next_qid, name, url, attributes or {})
            self._next_qid += 1
            self.queues[name] = queue
        return queue

    def by_name(self, name: Any) -> Queue:
        queue = self.queues.get(name) if isinstance(name, str) else None
        if queue is None:
            raise SQSFault(
                "QueueDoesNotExist",
                "The specified queue does not exist.",
                query_code="AWS.SimpleQueueService.NonExistentQueue",
            )
        return queue

    def by_url(self, url: Any) -> Queue:
        if not isinstance(url, str) or not url:
            raise SQSFault("MissingParameter", "The request must contain the parameter QueueUrl.")
        return self.by_name(url.rpartition("/")[2])

    def delete(self, url: Any) -> None:
        queue = self.by_url(url)
        queue.purge()
        del self.queues[queue.name]
