"""SQS operations over the in-memory store, in the JSON 1.0 shapes (botocore's field names).

Layer: between `benchmarks.server` (HTTP) and `benchmarks._store` (queue semantics). Each operation
takes the decoded request dict and returns the response dict, raises `SQSFault`, or, for a
ReceiveMessage that must wait, returns a `LongPoll` that the HTTP layer parks until a message
arrives or the wait ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks._store import (
    MAX_BATCH_ENTRIES,
    MAX_MESSAGE_BYTES,
    Message,
    Queue,
    SQSFault,
    Store,
    int_param,
    md5_of_attributes,
)

Result = dict[str, Any]
_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
)


@dataclass(slots=True)
class LongPoll:
    """A ReceiveMessage that found nothing and may wait `wait_seconds` for messages."""

    queue: Queue
    max_messages: int
    visibility_timeout: int
    wait_seconds: int
    render: Callable[[list[Message]], Result]


def _batch_fault(code: str, message: str) -> SQSFault:
    return SQSFault(code, message, query_code=f"AWS.SimpleQueueService.{code}")


def _entries(params: Result) -> list[Result]:
    entries = params.get("Entries")
    if not entries:
        raise _batch_fault(
            "EmptyBatchRequest", "There should be at least one entry in the request."
        )
    if len(entries) > MAX_BATCH_ENTRIES:
        raise _batch_fault(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}.",
        )
    ids = [entry.get("Id") for entry in entries]
    for entry_id in ids:
        if not isinstance(entry_id, str) or not _ENTRY_ID.fullmatch(entry_id):
            raise _batch_fault("InvalidBatchEntryId", f"A batch entry id {entry_id!r} is invalid.")
    if len(set(ids)) != len(ids):
        raise _batch_fault(
            "BatchEntryIdsNotDistinct", "Two or more batch entries have the same Id."
        )
    return entries  # type: ignore[no-any-return]


def _failure(entry_id: str, fault: SQSFault) -> Result:
    return {
        "Id": entry_id,
        "SenderFault": fault.sender,
        "Code": fault.code,
        "Message": fault.message,
    }


def _sent(msg: Message) -> Result:
    result = {"MessageId": msg.id, "MD5OfMessageBody": msg.md5_body}
    if msg.md5_attrs:
        result["MD5OfMessageAttributes"] = msg.md5_attrs
    return result


def send_message(store: Store, params: Result) -> Result:
    return _sent(store.by_url(params.get("QueueUrl")).send(params))


def send_message_batch(store: Store, params: Result) -> Result:
    queue = store.by_url(params.get("QueueUrl"))
    entries = _entries(params)
    total = sum(len(str(entry.get("MessageBody", "")).encode()) for entry in entries)
    if total > MAX_MESSAGE_BYTES:
        raise _batch_fault(
            "BatchRequestTooLong", "Batch requests cannot be longer than 1048576 bytes."
        )
    successful, failed = [], []
    for entry in entries:
        try:
            successful.append({"Id": entry["Id"], **_sent(queue.send(entry))})
        except SQSFault as fault:
            failed.append(_failure(entry["Id"], fault))
    return {"Successful": successful, "Failed": failed}


def _names(params: Result, *keys: str) -> set[str]:
    names: set[str] = set()
    for key in keys:
        names.update(params.get(key) or ())
    return names


def _select_attributes(attrs: Result, wanted: set[str]) -> Result:
    if "All" in wanted or ".*" in wanted:
        return attrs
    prefixes = tuple(name[:-2] for name in wanted if name.endswith(".*"))
    return {
        name: value
        for name, value in attrs.items()
        if name in wanted or (prefixes and name.startswith(prefixes))
    }


def _renderer(queue: Queue, params: Result) -> Callable[[list[Message]], Result]:
    system = _names(params, "AttributeNames", "MessageSystemAttributeNames")
    if "All" in system:
        system = set(_SYSTEM_ATTRIBUTES)
    wanted = _names(params, "MessageAttributeNames")

    def render(messages: list[Message]) -> Result:
        out = []
        for msg in messages:
            item: Result = {
                "MessageId": msg.id,
                "ReceiptHandle": queue.handle(msg),
                "MD5OfBody": msg.md5_body,
                "Body": msg.body,
            }
            if system:
                values = {
                    "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
                    "SentTimestamp": str(msg.sent_ms),
                    "ApproximateReceiveCount": str(msg.receive_count),
                    "ApproximateFirstReceiveTimestamp": str(msg.first_receive_ms),
                }
                item["Attributes"] = {k: v for k, v in values.items() if k in system}
            if msg.attrs and wanted:
                chosen = _select_attributes(msg.attrs, wanted)
                if chosen:
                    item["MessageAttributes"] = chosen
                    # The SDKs that check this digest compute it over what they received.
                    item["MD5OfMessageAttributes"] = (
                        msg.md5_attrs if chosen is msg.attrs else md5_of_attributes(chosen)
                    )
            out.append(item)
        return {"Messages": out} if out else {}

    return render


def receive_message(store: Store, params: Result) -> Result | LongPoll:
    queue = store.by_url(params.get("QueueUrl"))
    count = int_param(params, "MaxNumberOfMessages", 1, 1, MAX_BATCH_ENTRIES)
    timeout = int_param(params, "VisibilityTimeout", queue.visibility_timeout, 0, 43200)
    default_wait = int(queue.attributes["ReceiveMessageWaitTimeSeconds"])
    wait = int_param(params, "WaitTimeSeconds", default_wait, 0, 20)
    render = _renderer(queue, params)
    messages = queue.receive(count, timeout)
    if messages or not wait:
        return render(messages)
    return LongPoll(queue, count, timeout, wait, render)


def delete_message(store: Store, params: Result) -> Result:
    store.by_url(params.get("QueueUrl")).delete(params.get("ReceiptHandle"))
    return {}


def delete_message_batch(store: Store, params: Result) -> Result:
    queue = store.by_url(params.get("QueueUrl"))
    successful, failed = [], []
    for entry in _entries(params):
        try:
            queue.delete(entry.get("ReceiptHandle"))
            successful.append({"Id": entry["Id"]})
        except SQSFault as fault:
            failed.append(_failure(entry["Id"], fault))
    return {"Successful": successful, "Failed": failed}


def change_message_visibility(store: Store, params: Result) -> Result:
    queue = store.by_url(params.get("QueueUrl"))
    queue.change_visibility(params.get("ReceiptHandle"), params.get("VisibilityTimeout"))
    return {}


def change_message_visibility_batch(store: Store, params: Result) -> Result:
    queue = store.by_url(params.get("QueueUrl"))
    successful, failed = [], []
    for entry in _entries(params):
        try:
            queue.change_visibility(entry.get("ReceiptHandle"), entry.get("VisibilityTimeout"))
            successful.append({"Id": entry["Id"]})
        except SQSFault as fault:
            failed.append(_failure(entry["Id"], fault))
    return {"Successful": successful, "Failed": failed}


def create_queue(store: Store, params: Result) -> Result:
    return {"QueueUrl": store.create(params.get("QueueName"), params.get("Attributes")).url}


def get_queue_url(store: Store, params: Result) -> Result:
    return {"QueueUrl": store.by_name(params.get("QueueName")).url}


def list_queues(store: Store, params: Result) -> Result:
    prefix = params.get("QueueNamePrefix") or ""
    urls = [q.url for name, q in sorted(store.queues.items()) if name.startswith(prefix)]
    return {"QueueUrls": urls} if urls else {}


def get_queue_attributes(store: Store, params: Result) -> Result:
    queue = store.by_url(params.get("QueueUrl"))
    return {"Attributes": queue.get_attributes(list(params.get("AttributeNames") or ()))}


def set_queue_attributes(store: Store, params: Result) -> Result:
    store.by_url(params.get("QueueUrl")).set_attributes(params.get("Attributes") or {})
    return {}


def purge_queue(store: Store, params: Result) -> Result:
    store.by_url(params.get("QueueUrl")).purge()
    return {}


def delete_queue(store: Store, params: Result) -> Result:
    store.delete(params.get("QueueUrl"))
    return {}


OPERATIONS: dict[str, Callable[[Store, Result], Result | LongPoll]] = {
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "ReceiveMessage": receive_message,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
    "CreateQueue": create_queue,
    "GetQueueUrl": get_queue_url,
    "ListQueues": list_queues,
    "GetQueueAttributes": get_queue_attributes,
    "SetQueueAttributes": set_queue_attributes,
    "PurgeQueue": purge_queue,
    "DeleteQueue": delete_queue,
}
