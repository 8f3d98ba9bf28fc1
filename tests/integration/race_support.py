"""Concurrent-receive scenarios that tell a safe SQS server from moto 5.2.5's racy receive path.

Plain blocking HTTP from threads (no retries, no client library), so a server's HTTP 500 or a
lost message shows as it is. Each scenario returns what it saw; the tests decide what it means.
See docs/compatibility.md, "moto under concurrent receives".
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEADLINE = 30.0  # seconds, for one request


def sqs_call(endpoint_url: str, target: str, payload: dict[str, Any]) -> tuple[int, str, Any]:
    """One JSON-protocol SQS request with a dummy SigV4 header (moto checks no signature, but
    routes to SQS only when the credential scope names it). Returns status, media type, body
    (``None`` when the body is not JSON, e.g. werkzeug's HTML error page)."""
    parts = urlsplit(endpoint_url)
    assert parts.hostname is not None
    day = time.strftime("%Y%m%d", time.gmtime())
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"AmazonSQS.{target}",
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential=testing/{day}/us-east-1/sqs/aws4_request, "
            f"SignedHeaders=content-type;host;x-amz-target, Signature={'0' * 64}"
        ),
    }
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=DEADLINE)
    try:
        conn.request("POST", "/", body=json.dumps(payload).encode(), headers=headers)
        response = conn.getresponse()
        body = response.read()
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        return response.status, media_type, parsed
    finally:
        conn.close()


def _ok(endpoint_url: str, target: str, payload: dict[str, Any]) -> Any:
    status, _, body = sqs_call(endpoint_url, target, payload)
    assert status == 200, f"{target} answered {status}: {body}"
    return body


def _create_queue(endpoint_url: str, name: str, attributes: dict[str, str]) -> str:
    body = _ok(endpoint_url, "CreateQueue", {"QueueName": name, "Attributes": attributes})
    return str(body["QueueUrl"])


def _attribute(endpoint_url: str, url: str, name: str) -> str:
    body = _ok(endpoint_url, "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": [name]})
    return str(body["Attributes"][name])


def _send_all(endpoint_url: str, url: str, entries: list[dict[str, Any]]) -> None:
    for start in range(0, len(entries), 10):
        chunk = [{"Id": str(i), **e} for i, e in enumerate(entries[start : start + 10])]
        body = _ok(endpoint_url, "SendMessageBatch", {"QueueUrl": url, "Entries": chunk})
        assert not body.get("Failed"), body


def _receive(endpoint_url: str, url: str, *, visibility: int) -> tuple[int, list[dict[str, Any]]]:
    status, _, body = sqs_call(
        endpoint_url,
        "ReceiveMessage",
        {
            "QueueUrl": url,
            "MaxNumberOfMessages": 10,
            "VisibilityTimeout": visibility,
            "WaitTimeSeconds": 0,
            "MessageSystemAttributeNames": ["MessageGroupId"],
        },
    )
    messages = body.get("Messages", []) if status == 200 and isinstance(body, dict) else []
    return status, messages


def _all_at_once(count: int, work: Any) -> None:
    """Run ``work(index)`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(DEADLINE)
            work(index)
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE * 4)
    assert not any(t.is_alive() for t in threads), "a receiver never returned"
    assert not errors, errors


@dataclass
class RedriveOutcome:
    """What concurrent receives saw on a queue whose first messages were due for redrive."""

    statuses: list[int] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)  # fresh bodies, concurrent round + drain
    fresh: int = 0
    due: int = 0
    in_dlq: int = 0
    not_visible: int = 0  # in flight on the source queue after everything was received

    @property
    def errors(self) -> int:
        return sum(1 for status in self.statuses if status != 200)

    @property
    def lost(self) -> int:
        """Fresh messages in flight that no receiver got."""
        return self.fresh - len(set(self.delivered))

    @property
    def safe(self) -> bool:
        return (
            self.errors == 0
            and self.lost == 0
            and len(self.delivered) == len(set(self.delivered)) == self.fresh
            and self.in_dlq == self.due
            and self.not_visible == self.fresh
        )


def redrive_trial(
    endpoint_url: str, *, receivers: int = 16, due: int = 40, fresh: int = 60
) -> RedriveOutcome:
    """``due`` messages past ``maxReceiveCount`` (1) ahead of ``fresh`` ones, then
    ``receivers`` concurrent ReceiveMessage calls, then a sequential drain.

    A safe server moves every due message to the dead-letter queue and hands every fresh one
    to exactly one receiver. moto 5.2.5 lets two receives collect the same due message: the
    second ``list.remove`` fails (HTTP 500) after that call had marked its fresh messages in
    flight, so they are delivered to no one until their visibility timeout ends.
    """
    source, dlq = prepare_redrive(endpoint_url, due=due, fresh=fresh)
    outcome = RedriveOutcome(fresh=fresh, due=due)
    lock = threading.Lock()

    def receive_once(_: int) -> None:
        status, batch = _receive(endpoint_url, source, visibility=60)
        with lock:
            outcome.statuses.append(status)
            outcome.delivered += [m["Body"] for m in batch]

    _all_at_once(receivers, receive_once)
    while True:  # whatever the concurrent round left visible
        status, batch = _receive(endpoint_url, source, visibility=60)
        outcome.statuses.append(status)
        if status != 200 or not batch:
            break
        outcome.delivered += [m["Body"] for m in batch]
    outcome.in_dlq = dead_letters(endpoint_url, dlq)
    outcome.not_visible = int(
        _attribute(endpoint_url, source, "ApproximateNumberOfMessagesNotVisible")
    )
    assert all(body.startswith("fresh-") for body in outcome.delivered), outcome.delivered
    return outcome


def prepare_redrive(endpoint_url: str, *, due: int, fresh: int) -> tuple[str, str]:
    """A queue with ``maxReceiveCount`` 1 whose first ``due`` messages (``due-N``) were received
    once and are visible again, ahead of ``fresh`` ones (``fresh-N``). Returns the URLs of the
    queue and of its dead-letter queue."""
    tag = uuid.uuid4().hex[:8]
    dlq = _create_queue(endpoint_url, f"race-dlq-{tag}", {})
    dlq_arn = _attribute(endpoint_url, dlq, "QueueArn")
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    source = _create_queue(endpoint_url, f"race-src-{tag}", {"RedrivePolicy": policy})
    # Receive the first ``due`` messages once, then make them visible again: each now has
    # ApproximateReceiveCount 1 = maxReceiveCount, so the next receive moves it to the DLQ.
    _send_all(endpoint_url, source, [{"MessageBody": f"due-{i}"} for i in range(due)])
    handles: list[str] = []
    while len(handles) < due:
        status, batch = _receive(endpoint_url, source, visibility=60)
        assert status == 200
        assert batch, "the due messages must all be received once"
        handles += [m["ReceiptHandle"] for m in batch]
    for start in range(0, due, 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(handles[start : start + 10])
        ]
        _ok(endpoint_url, "ChangeMessageVisibilityBatch", {"QueueUrl": source, "Entries": entries})
    _send_all(endpoint_url, source, [{"MessageBody": f"fresh-{i}"} for i in range(fresh)])
    time.sleep(0.002)  # moto's visibility check is "now > visible_at" in whole milliseconds
    return source, dlq


def dead_letters(endpoint_url: str, dlq: str) -> int:
    """How many messages the dead-letter queue holds."""
    return int(_attribute(endpoint_url, dlq, "ApproximateNumberOfMessages"))


@dataclass
class FifoOutcome:
    """The responses concurrent receivers got from a FIFO queue (nothing deleted)."""

    statuses: list[int] = field(default_factory=list)
    responses: list[list[tuple[str, int]]] = field(default_factory=list)  # (group, position)

    @property
    def errors(self) -> int:
        return sum(1 for status in self.statuses if status != 200)

    def violations(self) -> list[str]:
        """Groups delivered out of order: split across responses, or not from their head.

        Nothing is deleted and the visibility timeout outlasts the trial, so a FIFO queue
        may hand out each group's messages in one response only, from the group's first.
        """
        found: list[str] = []
        seen_in: dict[str, int] = {}
        for index, response in enumerate(self.responses):
            for group in dict.fromkeys(g for g, _ in response):
                positions = [p for g, p in response if g == group]
                if group in seen_in:
                    found.append(f"group {group} in responses {seen_in[group]} and {index}")
                elif positions != list(range(len(positions))):
                    found.append(f"group {group} delivered as {positions} in response {index}")
                seen_in.setdefault(group, index)
        return found


def fifo_trial(
    endpoint_url: str, *, receivers: int = 4, groups: int = 15, per_group: int = 4
) -> FifoOutcome:
    """``groups`` x ``per_group`` messages sent interleaved (g0:0, g1:0, …, g0:1, …) to a FIFO
    queue, then ``receivers`` threads that receive (without deleting) until the queue gives
    nothing more.

    moto 5.2.5 copies the set of in-flight groups once when a receive starts; a receive that
    runs meanwhile takes a group's head, and the first one then hands out that group's next
    message: one group split across two responses, out of order.
    """
    tag = uuid.uuid4().hex[:8]
    url = _create_queue(endpoint_url, f"race-{tag}.fifo", {"FifoQueue": "true"})
    entries = [
        {
            "MessageBody": f"{g}:{p}",
            "MessageGroupId": f"g{g}",
            "MessageDeduplicationId": f"{g}-{p}",
        }
        for p in range(per_group)
        for g in range(groups)
    ]
    _send_all(endpoint_url, url, entries)
    outcome = FifoOutcome()
    lock = threading.Lock()

    def receive_until_empty(_: int) -> None:
        while True:
            status, batch = _receive(endpoint_url, url, visibility=60)
            with lock:
                outcome.statuses.append(status)
                if batch:
                    outcome.responses.append(
                        [(m["Attributes"]["MessageGroupId"], _position(m["Body"])) for m in batch]
                    )
            if status != 200 or not batch:
                return

    _all_at_once(receivers, receive_until_empty)
    return outcome


def _position(body: str) -> int:
    return int(body.split(":")[1])
