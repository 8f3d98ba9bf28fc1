"""The SQS operations and their required members (botocore's sqs 2012-11-05 model).

Kept as a table rather than loaded from botocore's model at run time: loading the model
costs file I/O and milliseconds, and the table is checked against the model by
``tests/unit/test_protocol.py`` so it cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["API_VERSION", "OPERATIONS", "TARGET_PREFIX", "missing_members"]

API_VERSION = "2012-11-05"
TARGET_PREFIX = "AmazonSQS."

# operation name -> required top-level members
OPERATIONS: dict[str, tuple[str, ...]] = {
    "AddPermission": ("QueueUrl", "Label", "AWSAccountIds", "Actions"),
    "CancelMessageMoveTask": ("TaskHandle",),
    "ChangeMessageVisibility": ("QueueUrl", "ReceiptHandle", "VisibilityTimeout"),
    "ChangeMessageVisibilityBatch": ("QueueUrl", "Entries"),
    "CreateQueue": ("QueueName",),
    "DeleteMessage": ("QueueUrl", "ReceiptHandle"),
    "DeleteMessageBatch": ("QueueUrl", "Entries"),
    "DeleteQueue": ("QueueUrl",),
    "GetQueueAttributes": ("QueueUrl",),
    "GetQueueUrl": ("QueueName",),
    "ListDeadLetterSourceQueues": ("QueueUrl",),
    "ListMessageMoveTasks": ("SourceArn",),
    "ListQueueTags": ("QueueUrl",),
    "ListQueues": (),
    "PurgeQueue": ("QueueUrl",),
    "ReceiveMessage": ("QueueUrl",),
    "RemovePermission": ("QueueUrl", "Label"),
    "SendMessage": ("QueueUrl", "MessageBody"),
    "SendMessageBatch": ("QueueUrl", "Entries"),
    "SetQueueAttributes": ("QueueUrl", "Attributes"),
    "StartMessageMoveTask": ("SourceArn",),
    "TagQueue": ("QueueUrl", "Tags"),
    "UntagQueue": ("QueueUrl", "TagKeys"),
}


def missing_members(operation: str, params: Mapping[str, object]) -> list[str]:
    """Return the required members of ``operation`` that ``params`` lacks (or sets to None)."""
    return [name for name in OPERATIONS[operation] if params.get(name) is None]
