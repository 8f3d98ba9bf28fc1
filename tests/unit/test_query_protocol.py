"""The query protocol (``sqs_async._protocol.query``): form encoding, XML decoding, errors.

Two references, independent of the implementation: the wire names written out below from the
AWS API reference (the 2012-11-05 query API), and moto's SQS query parser and serializer
(moto's model carries the query names as ``locationNameForQueryCompatibility``), which each
operation's parameters and results must round-trip through.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import urllib.parse
from collections.abc import Mapping
from typing import Any

import botocore.session
import pytest
from botocore.model import ServiceModel, StructureShape

from sqs_async import SQSConnection
from sqs_async._protocol.operations import OPERATIONS
from sqs_async._protocol.query import CONTENT_TYPE, QueryProtocol
from sqs_async._transport.base import Response
from sqs_async.errors import (
    BatchRequestError,
    ChecksumMismatch,
    InvalidRequestError,
    OverLimit,
    PurgeQueueInProgress,
    QueueAlreadyExists,
    QueueDoesNotExist,
    ReceiptHandleInvalid,
    ResponseError,
    ServiceUnavailable,
    UnknownServiceError,
    ValidationError,
    for_code,
)

QUERY = QueryProtocol()
URL = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"
NS = 'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"'


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def form(body: bytes) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)


# -- encode: every operation, the wire names from the AWS API reference ----------------------

ENCODE: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "AddPermission": (
        {
            "QueueUrl": URL,
            "Label": "send",
            "AWSAccountIds": ["111122223333", "444455556666"],
            "Actions": ["SendMessage", "ReceiveMessage"],
        },
        {
            "QueueUrl": URL,
            "Label": "send",
            "AWSAccountId.1": "111122223333",
            "AWSAccountId.2": "444455556666",
            "ActionName.1": "SendMessage",
            "ActionName.2": "ReceiveMessage",
        },
    ),
    "CancelMessageMoveTask": ({"TaskHandle": "th"}, {"TaskHandle": "th"}),
    "ChangeMessageVisibility": (
        {"QueueUrl": URL, "ReceiptHandle": "rh+/=", "VisibilityTimeout": 0},
        {"QueueUrl": URL, "ReceiptHandle": "rh+/=", "VisibilityTimeout": "0"},
    ),
    "ChangeMessageVisibilityBatch": (
        {
            "QueueUrl": URL,
            "Entries": [
                {"Id": "a", "ReceiptHandle": "rh1", "VisibilityTimeout": 30},
                {"Id": "b", "ReceiptHandle": "rh2", "VisibilityTimeout": 0},
            ],
        },
        {
            "QueueUrl": URL,
            "ChangeMessageVisibilityBatchRequestEntry.1.Id": "a",
            "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle": "rh1",
            "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout": "30",
            "ChangeMessageVisibilityBatchRequestEntry.2.Id": "b",
            "ChangeMessageVisibilityBatchRequestEntry.2.ReceiptHandle": "rh2",
            "ChangeMessageVisibilityBatchRequestEntry.2.VisibilityTimeout": "0",
        },
    ),
    "CreateQueue": (
        {
            "QueueName": "jobs.fifo",
            "Attributes": {"FifoQueue": "true", "VisibilityTimeout": "45"},
            "tags": {"team": "core", "env": "test"},
        },
        {
            "QueueName": "jobs.fifo",
            "Attribute.1.Name": "FifoQueue",
            "Attribute.1.Value": "true",
            "Attribute.2.Name": "VisibilityTimeout",
            "Attribute.2.Value": "45",
            "Tag.1.Key": "team",
            "Tag.1.Value": "core",
            "Tag.2.Key": "env",
            "Tag.2.Value": "test",
        },
    ),
    "DeleteMessage": (
        {"QueueUrl": URL, "ReceiptHandle": "rh"},
        {"QueueUrl": URL, "ReceiptHandle": "rh"},
    ),
    "DeleteMessageBatch": (
        {"QueueUrl": URL, "Entries": [{"Id": "a", "ReceiptHandle": "rh1"}]},
        {
            "QueueUrl": URL,
            "DeleteMessageBatchRequestEntry.1.Id": "a",
            "DeleteMessageBatchRequestEntry.1.ReceiptHandle": "rh1",
        },
    ),
    "DeleteQueue": ({"QueueUrl": URL}, {"QueueUrl": URL}),
    "GetQueueAttributes": (
        {"QueueUrl": URL, "AttributeNames": ["VisibilityTimeout", "QueueArn"]},
        {"QueueUrl": URL, "AttributeName.1": "VisibilityTimeout", "AttributeName.2": "QueueArn"},
    ),
    "GetQueueUrl": (
        {"QueueName": "jobs", "QueueOwnerAWSAccountId": "123456789012"},
        {"QueueName": "jobs", "QueueOwnerAWSAccountId": "123456789012"},
    ),
    "ListDeadLetterSourceQueues": (
        {"QueueUrl": URL, "MaxResults": 5, "NextToken": "tok"},
        {"QueueUrl": URL, "MaxResults": "5", "NextToken": "tok"},
    ),
    "ListMessageMoveTasks": (
        {"SourceArn": ARN, "MaxResults": 10},
        {"SourceArn": ARN, "MaxResults": "10"},
    ),
    "ListQueueTags": ({"QueueUrl": URL}, {"QueueUrl": URL}),
    "ListQueues": (
        {"QueueNamePrefix": "t-", "MaxResults": 1, "NextToken": "next"},
        {"QueueNamePrefix": "t-", "MaxResults": "1", "NextToken": "next"},
    ),
    "PurgeQueue": ({"QueueUrl": URL}, {"QueueUrl": URL}),
    "ReceiveMessage": (
        {
            "QueueUrl": URL,
            "MaxNumberOfMessages": 10,
            "WaitTimeSeconds": 20,
            "VisibilityTimeout": 30,
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["color", "size.*"],
            "ReceiveRequestAttemptId": "attempt-1",
        },
        {
            "QueueUrl": URL,
            "MaxNumberOfMessages": "10",
            "WaitTimeSeconds": "20",
            "VisibilityTimeout": "30",
            "MessageSystemAttributeName.1": "All",
            # Mirrored for servers that only know the legacy name (see QueryProtocol.encode).
            "AttributeName.1": "All",
            "MessageAttributeName.1": "color",
            "MessageAttributeName.2": "size.*",
            "ReceiveRequestAttemptId": "attempt-1",
        },
    ),
    "RemovePermission": ({"QueueUrl": URL, "Label": "send"}, {"QueueUrl": URL, "Label": "send"}),
    "SendMessage": (
        {
            "QueueUrl": URL,
            "MessageBody": "héllo & = + ✓ 😀\r\n",
            "DelaySeconds": 5,
            "MessageAttributes": {
                "text": {"DataType": "String", "StringValue": "v é"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
                "n": {"DataType": "Number.int", "StringValue": "7"},
            },
            "MessageSystemAttributes": {
                "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}
            },
            "MessageDeduplicationId": "d-1",
            "MessageGroupId": "g-1",
        },
        {
            "QueueUrl": URL,
            "MessageBody": "héllo & = + ✓ 😀\r\n",
            "DelaySeconds": "5",
            "MessageAttribute.1.Name": "text",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "v é",
            "MessageAttribute.2.Name": "blob",
            "MessageAttribute.2.Value.DataType": "Binary",
            "MessageAttribute.2.Value.BinaryValue": "AAH+/w==",
            "MessageAttribute.3.Name": "n",
            "MessageAttribute.3.Value.DataType": "Number.int",
            "MessageAttribute.3.Value.StringValue": "7",
            "MessageSystemAttribute.1.Name": "AWSTraceHeader",
            "MessageSystemAttribute.1.Value.DataType": "String",
            "MessageSystemAttribute.1.Value.StringValue": "Root=1-abc",
            "MessageDeduplicationId": "d-1",
            "MessageGroupId": "g-1",
        },
    ),
    "SendMessageBatch": (
        {
            "QueueUrl": URL,
            "Entries": [
                {"Id": "a", "MessageBody": "one", "DelaySeconds": 1},
                {
                    "Id": "b",
                    "MessageBody": "two",
                    "MessageAttributes": {
                        "k": {"DataType": "String", "StringValue": "v"},
                        "bin": {"DataType": "Binary", "BinaryValue": b"\x01"},
                    },
                    "MessageGroupId": "g",
                    "MessageDeduplicationId": "d",
                },
            ],
        },
        {
            "QueueUrl": URL,
            "SendMessageBatchRequestEntry.1.Id": "a",
            "SendMessageBatchRequestEntry.1.MessageBody": "one",
            "SendMessageBatchRequestEntry.1.DelaySeconds": "1",
            "SendMessageBatchRequestEntry.2.Id": "b",
            "SendMessageBatchRequestEntry.2.MessageBody": "two",
            "SendMessageBatchRequestEntry.2.MessageAttribute.1.Name": "k",
            "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType": "String",
            "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue": "v",
            "SendMessageBatchRequestEntry.2.MessageAttribute.2.Name": "bin",
            "SendMessageBatchRequestEntry.2.MessageAttribute.2.Value.DataType": "Binary",
            "SendMessageBatchRequestEntry.2.MessageAttribute.2.Value.BinaryValue": "AQ==",
            "SendMessageBatchRequestEntry.2.MessageGroupId": "g",
            "SendMessageBatchRequestEntry.2.MessageDeduplicationId": "d",
        },
    ),
    "SetQueueAttributes": (
        {"QueueUrl": URL, "Attributes": {"RedrivePolicy": '{"maxReceiveCount":"5"}'}},
        {
            "QueueUrl": URL,
            "Attribute.1.Name": "RedrivePolicy",
            "Attribute.1.Value": '{"maxReceiveCount":"5"}',
        },
    ),
    "StartMessageMoveTask": (
        {"SourceArn": ARN, "DestinationArn": ARN + "-2", "MaxNumberOfMessagesPerSecond": 50},
        {"SourceArn": ARN, "DestinationArn": ARN + "-2", "MaxNumberOfMessagesPerSecond": "50"},
    ),
    "TagQueue": (
        {"QueueUrl": URL, "Tags": {"team": "core"}},
        {"QueueUrl": URL, "Tag.1.Key": "team", "Tag.1.Value": "core"},
    ),
    "UntagQueue": (
        {"QueueUrl": URL, "TagKeys": ["team", "env"]},
        {"QueueUrl": URL, "TagKey.1": "team", "TagKey.2": "env"},
    ),
}


def test_every_operation_has_an_encode_and_a_decode_case() -> None:
    assert set(ENCODE) == set(OPERATIONS)
    assert set(DECODE) == set(OPERATIONS)


@pytest.mark.parametrize("operation", sorted(ENCODE))
def test_encode(operation: str) -> None:
    params, expected = ENCODE[operation]
    pairs = form(QUERY.encode(operation, params))
    assert pairs[:2] == [("Action", operation), ("Version", "2012-11-05")]
    assert dict(pairs[2:]) == expected
    assert len(pairs) == len(expected) + 2  # no name twice


def test_headers_are_the_form_content_type_and_no_target() -> None:
    assert QUERY.name == "query"
    for operation in ("SendMessage", "ReceiveMessage"):
        assert QUERY.headers(operation) == {"Content-Type": CONTENT_TYPE}
    assert CONTENT_TYPE == "application/x-www-form-urlencoded; charset=utf-8"


def test_encoding_is_strict_percent_encoding() -> None:
    body = QUERY.encode("SendMessage", {"QueueUrl": URL, "MessageBody": "a b+c&d=e/é~"})
    assert b"MessageBody=a%20b%2Bc%26d%3De%2F%C3%A9~" in body
    assert b"QueueUrl=https%3A%2F%2Fsqs.us-east-1.amazonaws.com%2F123456789012%2Fjobs" in body


def test_encode_skips_none_and_writes_booleans_in_lower_case() -> None:
    pairs = dict(form(QUERY.encode("ListQueues", {"QueueNamePrefix": None, "MaxResults": 2})))
    assert "QueueNamePrefix" not in pairs
    pairs = dict(form(QUERY.encode("GetQueueUrl", {"QueueName": True})))
    assert pairs["QueueName"] == "true"


def test_receive_keeps_explicit_attribute_names() -> None:
    params = {"QueueUrl": URL, "AttributeNames": ["SentTimestamp"]}
    params["MessageSystemAttributeNames"] = ["SenderId"]
    pairs = dict(form(QUERY.encode("ReceiveMessage", params)))
    assert pairs["AttributeName.1"] == "SentTimestamp"
    assert pairs["MessageSystemAttributeName.1"] == "SenderId"


def test_a_text_binary_value_is_sent_as_the_base64_of_its_utf8() -> None:
    attributes = {"b": {"DataType": "Binary", "BinaryValue": "é"}}
    params = {"QueueUrl": URL, "MessageBody": "x", "MessageAttributes": attributes}
    pairs = dict(form(QUERY.encode("SendMessage", params)))
    assert pairs["MessageAttribute.1.Value.BinaryValue"] == base64.b64encode(b"\xc3\xa9").decode()


def test_list_values_are_flattened() -> None:
    value = {"DataType": "String", "StringListValues": ["x", "y"], "BinaryListValues": [b"\x01"]}
    params = {"QueueUrl": URL, "MessageBody": "x", "MessageAttributes": {"l": value}}
    pairs = dict(form(QUERY.encode("SendMessage", params)))
    assert pairs["MessageAttribute.1.Value.StringListValue.1"] == "x"
    assert pairs["MessageAttribute.1.Value.StringListValue.2"] == "y"
    assert pairs["MessageAttribute.1.Value.BinaryListValue.1"] == "AQ=="


@pytest.mark.parametrize(
    "params",
    [
        {"QueueUrl": URL, "MessageBody": b"bytes are not text"},
        {"QueueUrl": URL, "MessageBody": "x", "DelaySeconds": object()},
        {"QueueUrl": URL, "MessageBody": "lone \ud800 surrogate"},
        {"QueueUrl": URL, "MessageBody": "x", "MessageGroupId": ["a", {"b": 1}]},
    ],
    ids=["bytes", "object", "surrogate", "nested"],
)
def test_encode_refuses_what_the_wire_cannot_carry(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        QUERY.encode("SendMessage", params)


def test_a_structure_where_a_queue_attribute_string_belongs_is_refused() -> None:
    # Queue.set_attributes turns a RedrivePolicy dict into JSON text; raw callers must too.
    params = {"QueueUrl": URL, "Attributes": {"RedrivePolicy": {"maxReceiveCount": 5}}}
    with pytest.raises(ValidationError):
        QUERY.encode("SetQueueAttributes", params)


# -- decode: every operation, XML as SQS sends it ---------------------------------------------


def response(operation: str, result: str | None) -> bytes:
    inner = "" if result is None else f"<{operation}Result>{result}</{operation}Result>"
    return (
        f'<?xml version="1.0"?>\n<{operation}Response {NS}>{inner}'
        "<ResponseMetadata><RequestId>b6633655-283d-45b4-aee4-4e84e0ae6afa</RequestId>"
        f"</ResponseMetadata></{operation}Response>"
    ).encode()


BODY = 'héllo "quoted" <tag> & ✓ 😀\r\nline'
BODY_XML = "héllo &quot;quoted&quot; &lt;tag&gt; &amp; ✓ 😀&#xD;\nline"
SENT_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "text": {"DataType": "String", "StringValue": "v é"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
}
MESSAGE_XML = f"""
<Message>
  <MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId>
  <ReceiptHandle>MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw</ReceiptHandle>
  <MD5OfBody>{md5(BODY)}</MD5OfBody>
  <Body>{BODY_XML}</Body>
  <Attribute><Name>SenderId</Name><Value>195004372649</Value></Attribute>
  <Attribute><Name>SentTimestamp</Name><Value>1238099229000</Value></Attribute>
  <Attribute><Name>ApproximateReceiveCount</Name><Value>5</Value></Attribute>
  <MD5OfMessageAttributes>1b7c8f3a1d2e0b9e0f6c3b6b3a2e1f0d</MD5OfMessageAttributes>
  <MessageAttribute>
    <Name>text</Name>
    <Value><StringValue>v é</StringValue><DataType>String</DataType></Value>
  </MessageAttribute>
  <MessageAttribute>
    <Name>blob</Name>
    <Value><BinaryValue>AAH+/w==</BinaryValue><DataType>Binary</DataType></Value>
  </MessageAttribute>
</Message>
<Message>
  <MessageId>second</MessageId>
  <ReceiptHandle>rh2</ReceiptHandle>
  <MD5OfBody>{md5("")}</MD5OfBody>
  <Body></Body>
</Message>"""
MESSAGE = {
    "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
    "ReceiptHandle": "MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw",
    "MD5OfBody": md5(BODY),
    "Body": BODY,
    "Attributes": {
        "SenderId": "195004372649",
        "SentTimestamp": "1238099229000",
        "ApproximateReceiveCount": "5",
    },
    "MD5OfMessageAttributes": "1b7c8f3a1d2e0b9e0f6c3b6b3a2e1f0d",
    "MessageAttributes": SENT_ATTRIBUTES,
}
# The second message of MESSAGE_XML: an empty body and no attributes.
SECOND_MESSAGE = {"MessageId": "second", "ReceiptHandle": "rh2", "MD5OfBody": md5(""), "Body": ""}
BATCH_ERROR_XML = (
    "<BatchResultErrorEntry><Id>bad</Id><SenderFault>true</SenderFault>"
    "<Code>ReceiptHandleIsInvalid</Code><Message>The receipt handle is not valid.</Message>"
    "</BatchResultErrorEntry>"
)
BATCH_ERROR = {
    "Id": "bad",
    "SenderFault": True,
    "Code": "ReceiptHandleIsInvalid",
    "Message": "The receipt handle is not valid.",
}
QUEUE_URLS = [URL, URL + "-2"]
QUEUE_URLS_XML = "".join(f"<QueueUrl>{u}</QueueUrl>" for u in QUEUE_URLS)

DECODE: dict[str, tuple[str | None, dict[str, Any]]] = {
    "AddPermission": (None, {}),
    "CancelMessageMoveTask": (
        "<ApproximateNumberOfMessagesMoved>42</ApproximateNumberOfMessagesMoved>",
        {"ApproximateNumberOfMessagesMoved": 42},
    ),
    "ChangeMessageVisibility": (None, {}),
    "ChangeMessageVisibilityBatch": (
        "<ChangeMessageVisibilityBatchResultEntry><Id>a</Id>"
        "</ChangeMessageVisibilityBatchResultEntry>" + BATCH_ERROR_XML,
        {"Successful": [{"Id": "a"}], "Failed": [BATCH_ERROR]},
    ),
    "CreateQueue": (f"<QueueUrl>{URL}</QueueUrl>", {"QueueUrl": URL}),
    "DeleteMessage": (None, {}),
    "DeleteMessageBatch": (
        "<DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry>"
        "<DeleteMessageBatchResultEntry><Id>b</Id></DeleteMessageBatchResultEntry>",
        {"Successful": [{"Id": "a"}, {"Id": "b"}], "Failed": []},
    ),
    "DeleteQueue": (None, {}),
    "GetQueueAttributes": (
        "<Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>"
        "<Attribute><Name>Policy</Name><Value>{&quot;Version&quot;:&quot;2012-10-17&quot;}"
        "</Value></Attribute>",
        {"Attributes": {"VisibilityTimeout": "30", "Policy": '{"Version":"2012-10-17"}'}},
    ),
    "GetQueueUrl": (f"<QueueUrl>{URL}</QueueUrl>", {"QueueUrl": URL}),
    "ListDeadLetterSourceQueues": (
        QUEUE_URLS_XML + "<NextToken>n2</NextToken>",
        {"queueUrls": QUEUE_URLS, "NextToken": "n2"},
    ),
    "ListMessageMoveTasks": (
        "<ListMessageMoveTasksResultEntry><TaskHandle>th</TaskHandle><Status>RUNNING</Status>"
        f"<SourceArn>{ARN}</SourceArn><DestinationArn>{ARN}-2</DestinationArn>"
        "<MaxNumberOfMessagesPerSecond>50</MaxNumberOfMessagesPerSecond>"
        "<ApproximateNumberOfMessagesMoved>3</ApproximateNumberOfMessagesMoved>"
        "<ApproximateNumberOfMessagesToMove>10</ApproximateNumberOfMessagesToMove>"
        "<FailureReason>none</FailureReason>"
        "<StartedTimestamp>1700000000000</StartedTimestamp></ListMessageMoveTasksResultEntry>",
        {
            "Results": [
                {
                    "TaskHandle": "th",
                    "Status": "RUNNING",
                    "SourceArn": ARN,
                    "DestinationArn": ARN + "-2",
                    "MaxNumberOfMessagesPerSecond": 50,
                    "ApproximateNumberOfMessagesMoved": 3,
                    "ApproximateNumberOfMessagesToMove": 10,
                    "FailureReason": "none",
                    "StartedTimestamp": 1700000000000,
                }
            ]
        },
    ),
    "ListQueueTags": (
        "<Tag><Key>team</Key><Value>core</Value></Tag><Tag><Key>env</Key><Value></Value></Tag>",
        {"Tags": {"team": "core", "env": ""}},
    ),
    "ListQueues": (
        QUEUE_URLS_XML + "<NextToken>next</NextToken>",
        {"QueueUrls": QUEUE_URLS, "NextToken": "next"},
    ),
    "PurgeQueue": (None, {}),
    "ReceiveMessage": (MESSAGE_XML, {"Messages": [MESSAGE, SECOND_MESSAGE]}),
    "RemovePermission": (None, {}),
    "SendMessage": (
        "<MD5OfMessageBody>fafb00f5732ab283681e124bf8747ed1</MD5OfMessageBody>"
        "<MD5OfMessageAttributes>3ae8f24a165a8cedc005670c81a27295</MD5OfMessageAttributes>"
        "<MD5OfMessageSystemAttributes>5ae8f24a165a8cedc005670c81a27295"
        "</MD5OfMessageSystemAttributes>"
        "<MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId>"
        "<SequenceNumber>18849496460467696128</SequenceNumber>",
        {
            "MD5OfMessageBody": "fafb00f5732ab283681e124bf8747ed1",
            "MD5OfMessageAttributes": "3ae8f24a165a8cedc005670c81a27295",
            "MD5OfMessageSystemAttributes": "5ae8f24a165a8cedc005670c81a27295",
            "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
            "SequenceNumber": "18849496460467696128",
        },
    ),
    "SendMessageBatch": (
        "<SendMessageBatchResultEntry><Id>a</Id><MessageId>m-a</MessageId>"
        "<MD5OfMessageBody>md5a</MD5OfMessageBody>"
        "<MD5OfMessageAttributes>md5attrs</MD5OfMessageAttributes>"
        "<MD5OfMessageSystemAttributes>md5sys</MD5OfMessageSystemAttributes>"
        "<SequenceNumber>1</SequenceNumber></SendMessageBatchResultEntry>" + BATCH_ERROR_XML,
        {
            "Successful": [
                {
                    "Id": "a",
                    "MessageId": "m-a",
                    "MD5OfMessageBody": "md5a",
                    "MD5OfMessageAttributes": "md5attrs",
                    "MD5OfMessageSystemAttributes": "md5sys",
                    "SequenceNumber": "1",
                }
            ],
            "Failed": [BATCH_ERROR],
        },
    ),
    "SetQueueAttributes": (None, {}),
    "StartMessageMoveTask": ("<TaskHandle>th</TaskHandle>", {"TaskHandle": "th"}),
    "TagQueue": (None, {}),
    "UntagQueue": (None, {}),
}


@pytest.mark.parametrize("operation", sorted(DECODE))
def test_decode(operation: str) -> None:
    result, expected = DECODE[operation]
    assert QUERY.decode(operation, response(operation, result)) == expected


def test_decode_without_a_namespace_or_a_prolog() -> None:
    body = b"<CreateQueueResponse><CreateQueueResult><QueueUrl>u</QueueUrl></CreateQueueResult>"
    body += b"</CreateQueueResponse>"
    assert QUERY.decode("CreateQueue", body) == {"QueueUrl": "u"}


def test_decode_finds_a_result_nested_deeper_and_tolerates_none() -> None:
    wrapped = (
        b"<Envelope>"
        + response("GetQueueUrl", "<QueueUrl>u</QueueUrl>").partition(b"?>")[2]
        + b"</Envelope>"
    )
    assert QUERY.decode("GetQueueUrl", wrapped) == {"QueueUrl": "u"}
    assert QUERY.decode("ListQueues", response("ListQueues", None)) == {}
    assert QUERY.decode("DeleteMessageBatch", response("DeleteMessageBatch", None)) == {
        "Successful": [],
        "Failed": [],
    }


def test_decode_ignores_members_it_does_not_know() -> None:
    body = response("GetQueueUrl", "<QueueUrl>u</QueueUrl><Shiny>new</Shiny>")
    assert QUERY.decode("GetQueueUrl", body) == {"QueueUrl": "u"}


def test_decode_of_an_empty_body() -> None:
    assert QUERY.decode("DeleteQueue", b"") == {}
    assert QUERY.decode("ReceiveMessage", b"  ") == {}
    assert QUERY.decode("SendMessageBatch", b"") == {"Successful": [], "Failed": []}


def test_an_empty_receive_has_no_messages_key() -> None:
    assert QUERY.decode("ReceiveMessage", response("ReceiveMessage", "")) == {}


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("ReceiveMessage", b"<ReceiveMessageResponse><unclosed>"),
        ("ReceiveMessage", b"{not xml}"),
        (
            "ReceiveMessage",
            response(
                "ReceiveMessage",
                "<Message><MessageAttribute><Name>b</Name><Value>"
                "<BinaryValue>not base64!</BinaryValue><DataType>Binary</DataType>"
                "</Value></MessageAttribute></Message>",
            ),
        ),
        (
            "CancelMessageMoveTask",
            response(
                "CancelMessageMoveTask",
                "<ApproximateNumberOfMessagesMoved>many</ApproximateNumberOfMessagesMoved>",
            ),
        ),
    ],
    ids=["truncated", "json", "bad-base64", "bad-integer"],
)
def test_malformed_responses_are_response_errors(operation: str, body: bytes) -> None:
    with pytest.raises(ResponseError) as caught:
        QUERY.decode(operation, body)
    assert caught.value.operation == operation


# -- against botocore's model and moto's query implementation ----------------------------------


@functools.cache
def botocore_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sqs")


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_decode_cases_cover_every_output_member(operation: str) -> None:
    """So that the moto round trip below exercises every member botocore knows."""
    shape = botocore_model().operation_model(operation).output_shape
    members = set(shape.members) if shape is not None else set()
    expected = DECODE[operation][1]
    assert set(expected) == members
    if operation == "ReceiveMessage":
        message = botocore_model().shape_for("Message")
        assert isinstance(message, StructureShape)
        # botocore's Message has no MD5OfMessageSystemAttributes (the sent results do).
        assert set(MESSAGE) == set(message.members)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_required_output_lists_are_always_present(operation: str) -> None:
    shape = botocore_model().operation_model(operation).output_shape
    required = []
    if shape is not None:
        required = [
            name for name in shape.required_members if shape.members[name].type_name == "list"
        ]
    decoded = QUERY.decode(operation, response(operation, ""))
    assert all(decoded[name] == [] for name in required)


def moto_sqs() -> Any:
    pytest.importorskip("moto")
    from moto.core.utils import get_service_model

    return get_service_model("sqs")


@pytest.mark.parametrize("operation", sorted(ENCODE))
def test_moto_parses_each_request_back_into_its_parameters(operation: str) -> None:
    from moto.core.parse import QueryParser

    model = moto_sqs()
    params, _ = ENCODE[operation]
    body = QUERY.encode(operation, params)
    request: Any = {
        "values": dict(form(body)),
        "body": body,
        "headers": {},
        "method": "POST",
        "url_params": {},
        "url_path": "/",
    }
    parsed = QueryParser(model.operation_model(operation)).parse(request)
    parsed.pop("Action", None)
    parsed.pop("Version", None)
    expected = dict(params)
    if operation == "ReceiveMessage":
        # moto's model has no query name for MessageSystemAttributeNames (added to SQS in
        # 2024, after the switch to JSON), so it reads only the mirrored AttributeName.N.
        expected["AttributeNames"] = expected.pop("MessageSystemAttributeNames")
    assert parsed == expected


# moto's model gives the message-move operations no query result names (moto does not
# implement them): for those, the hand-written XML above is the only reference.
MOVE_TASKS = ("CancelMessageMoveTask", "ListMessageMoveTasks", "StartMessageMoveTask")


@pytest.mark.parametrize("operation", sorted(set(DECODE) - set(MOVE_TASKS)))
def test_each_result_survives_moto_serializing_it(operation: str) -> None:
    from moto.core.serialize import SqsQuerySerializer

    model = moto_sqs()
    expected = DECODE[operation][1]
    body = SqsQuerySerializer(model.operation_model(operation)).serialize(expected)["body"]
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    assert QUERY.decode(operation, raw) == expected


# -- errors ------------------------------------------------------------------------------------


def error_body(code: str, message: str = "it failed", kind: str = "Sender") -> bytes:
    return (
        f'<?xml version="1.0"?><ErrorResponse {NS}><Error><Type>{kind}</Type>'
        f"<Code>{code}</Code><Message>{message}</Message><Detail/></Error>"
        "<RequestId>42d59b56-7407-4c4a-be0f-4c88daeea257</RequestId></ErrorResponse>"
    ).encode()


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("AWS.SimpleQueueService.NonExistentQueue", 400, QueueDoesNotExist),
        ("QueueAlreadyExists", 400, QueueAlreadyExists),
        ("AWS.SimpleQueueService.PurgeQueueInProgress", 403, PurgeQueueInProgress),
        ("ReceiptHandleIsInvalid", 400, ReceiptHandleInvalid),
        ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400, BatchRequestError),
        ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400, BatchRequestError),
        ("InvalidParameterValue", 400, InvalidRequestError),
        ("MissingParameter", 400, InvalidRequestError),
        ("InvalidAttributeName", 400, InvalidRequestError),
        ("OverLimit", 403, OverLimit),
        ("InternalError", 500, ServiceUnavailable),
        ("SomethingNew", 400, UnknownServiceError),
    ],
)
def test_error_xml_maps_to_the_error_class(code: str, status: int, cls: type[Exception]) -> None:
    info = QUERY.error(status, {"Content-Type": "text/xml"}, error_body(code))
    assert info.code == code
    assert info.message == "it failed"
    assert info.request_id == "42d59b56-7407-4c4a-be0f-4c88daeea257"
    assert for_code(info.code, status) is cls


def test_error_message_entities_are_resolved() -> None:
    body = error_body("InvalidParameterValue", "Value &quot;x&quot; for &lt;parameter&gt; &amp;")
    info = QUERY.error(400, {}, body)
    assert info.message == 'Value "x" for <parameter> &'


def test_error_header_code_and_request_id_win() -> None:
    headers = {
        "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
        "x-amzn-RequestId": "from-header",
    }
    info = QUERY.error(400, headers, error_body("Other"))
    assert (info.code, info.request_id) == (
        "AWS.SimpleQueueService.NonExistentQueue",
        "from-header",
    )


def test_error_that_is_not_xml_falls_back_on_parse_error() -> None:
    info = QUERY.error(503, {}, b"<html><body>Service Unavailable")
    assert info.code == "HTTP503"
    info = QUERY.error(500, {}, b"")
    assert info.code == "HTTP500"
    assert for_code(info.code, 500) is ServiceUnavailable
    # Leading whitespace before the XML does not hide the code.
    info = QUERY.error(400, {}, b"\n  " + error_body("ReceiptHandleIsInvalid"))
    assert for_code(info.code, 400) is ReceiptHandleInvalid


# -- through a connection: the MD5 checks see decoded values ---------------------------------


class FormServer:
    """A fake transport that answers query requests with canned XML and records them."""

    def __init__(self, answers: Mapping[str, bytes], *, reject_json: bool = False) -> None:
        self.answers = answers
        self.reject_json = reject_json
        self.requests: list[tuple[dict[str, str], dict[str, str]]] = []

    async def request(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        read_timeout: float,
        long_poll: bool = False,
    ) -> Response:
        await asyncio.sleep(0)
        if "X-Amz-Target" in headers:
            self.requests.append((dict(headers), {}))
            if self.reject_json:
                return Response(415, {}, b"Unsupported Media Type")
            raise AssertionError("a JSON request reached a query-only fake")
        fields = dict(form(body))
        self.requests.append((dict(headers), fields))
        return Response(200, {"Content-Type": "text/xml"}, self.answers[fields["Action"]])

    async def aclose(self) -> None:
        return None


def connect(server: FormServer, protocol: str) -> SQSConnection:
    return SQSConnection(
        "AKID",
        "secret",
        region="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        protocol=protocol,  # type: ignore[arg-type]
        transport=server,
    )


def attribute_md5() -> str:
    from sqs_async._protocol.checksums import md5_of_attributes

    return md5_of_attributes(SENT_ATTRIBUTES)


async def test_a_query_connection_sends_forms_and_verifies_md5s() -> None:
    received = MESSAGE_XML.replace("1b7c8f3a1d2e0b9e0f6c3b6b3a2e1f0d", attribute_md5())
    sent = (
        f"<MD5OfMessageBody>{md5(BODY)}</MD5OfMessageBody>"
        f"<MD5OfMessageAttributes>{attribute_md5()}</MD5OfMessageAttributes>"
        "<MessageId>m-1</MessageId>"
    )
    server = FormServer(
        {
            "SendMessage": response("SendMessage", sent),
            "ReceiveMessage": response("ReceiveMessage", received),
        }
    )
    async with connect(server, "query") as conn:
        result = await conn.send_message(
            QueueUrl=URL, MessageBody=BODY, MessageAttributes=SENT_ATTRIBUTES
        )
        assert result["MessageId"] == "m-1"
        messages = (await conn.receive_message(QueueUrl=URL, MaxNumberOfMessages=2))["Messages"]
    assert messages[0]["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01\xfe\xff"
    assert messages[0]["Body"] == BODY
    headers, fields = server.requests[0]
    assert "X-Amz-Target" not in headers
    assert headers["Content-Type"] == CONTENT_TYPE
    assert "Authorization" in headers
    assert fields["Action"] == "SendMessage"
    assert fields["MessageAttribute.2.Value.BinaryValue"] == "AAH+/w=="


async def test_a_wrong_md5_in_a_query_response_is_caught() -> None:
    sent = f"<MD5OfMessageBody>{md5('something else')}</MD5OfMessageBody><MessageId>m</MessageId>"
    server = FormServer({"SendMessage": response("SendMessage", sent)})
    async with connect(server, "query") as conn:
        with pytest.raises(ChecksumMismatch):
            await conn.send_message(QueueUrl=URL, MessageBody=BODY)


async def test_auto_switches_to_query_once_on_415() -> None:
    server = FormServer({"ListQueues": response("ListQueues", QUEUE_URLS_XML)}, reject_json=True)
    async with connect(server, "auto") as conn:
        assert (await conn.list_queues())["QueueUrls"] == QUEUE_URLS
        assert (await conn.list_queues())["QueueUrls"] == QUEUE_URLS
    json_requests = [h for h, _ in server.requests if "X-Amz-Target" in h]
    assert len(json_requests) == 1
    assert len(server.requests) == 3
