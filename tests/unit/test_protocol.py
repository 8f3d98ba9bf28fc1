"""The operation table against botocore's SQS model, and one coroutine per operation."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import botocore.session
import pytest
from _core_support import QUEUE_URL, connect, default_handler
from botocore import xform_name
from botocore.model import ServiceModel

from sqs_async import SQSConnection
from sqs_async._protocol.operations import OPERATIONS, TARGET_PREFIX, missing_members

# The boto-style calls take these names; the low-level operation keeps a ``_raw`` suffix.
FRIENDLY = {"create_queue": "create_queue_raw", "delete_queue": "delete_queue_raw"}


@functools.cache
def sqs_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sqs")


def test_operation_names_match_botocore() -> None:
    assert set(OPERATIONS) == set(sqs_model().operation_names)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_required_members_match_botocore(operation: str) -> None:
    shape = sqs_model().operation_model(operation).input_shape
    required = tuple(shape.required_members) if shape is not None else ()
    assert OPERATIONS[operation] == required


def test_target_prefix_matches_botocore() -> None:
    assert sqs_model().metadata["targetPrefix"] + "." == TARGET_PREFIX
    assert sqs_model().metadata["protocol"] == "json"
    assert sqs_model().metadata["jsonVersion"] == "1.0"


def low_level_name(operation: str) -> str:
    name = xform_name(operation)
    return FRIENDLY.get(name, name)


@pytest.mark.parametrize("operation", sorted(sqs_model().operation_names))
def test_connection_has_a_coroutine_per_operation(operation: str) -> None:
    method = getattr(SQSConnection, low_level_name(operation), None)
    assert method is not None, f"SQSConnection lacks {low_level_name(operation)}"
    assert inspect.iscoroutinefunction(method)


@pytest.mark.parametrize("operation", sorted(sqs_model().operation_names))
async def test_each_low_level_method_sends_its_own_operation(operation: str) -> None:
    # Fill the required members with plausible values, so that validation passes.
    values: dict[str, Any] = {
        "QueueUrl": QUEUE_URL,
        "QueueName": "jobs",
        "ReceiptHandle": "rh",
        "VisibilityTimeout": 10,
        "MessageBody": "x",
        "Label": "l",
        "AWSAccountIds": ["123456789012"],
        "Actions": ["SendMessage"],
        "TaskHandle": "t",
        "SourceArn": "arn:aws:sqs:us-east-1:123456789012:dlq",
        "Attributes": {"DelaySeconds": "0"},
        "Tags": {"k": "v"},
        "TagKeys": ["k"],
    }
    if operation == "SendMessageBatch":
        values["Entries"] = [{"Id": "a", "MessageBody": "x"}]
    elif operation in ("DeleteMessageBatch", "ChangeMessageVisibilityBatch"):
        values["Entries"] = [{"Id": "a", "ReceiptHandle": "rh"}]
    params = {name: values[name] for name in OPERATIONS[operation]}
    conn, mock = connect(default_handler)
    async with conn:
        await getattr(conn, low_level_name(operation))(**params)
    assert mock.operations() == [operation]
    assert mock.calls[0].headers["X-Amz-Target"] == f"AmazonSQS.{operation}"
    assert mock.calls[0].params == params


def test_missing_members() -> None:
    assert missing_members("SendMessage", {"QueueUrl": "u", "MessageBody": None}) == ["MessageBody"]
    assert missing_members("SendMessage", {"QueueUrl": "u", "MessageBody": "b"}) == []
    assert missing_members("ListQueues", {}) == []
