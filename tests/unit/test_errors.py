"""Error mapping: every SQS exception shape, legacy query codes, parsing, what errors carry."""

from __future__ import annotations

import functools
import json
from typing import Any

import botocore.parsers
import botocore.session
import pytest
from _core_support import QUEUE_URL, connect, fake_sleep, json_response
from botocore.model import ServiceModel

from sqs_async import RetryPolicy, errors
from sqs_async._protocol.codec import parse_error
from sqs_async._transport.base import Response
from sqs_async._transport.mock import RecordedCall, error_response


@functools.cache
def sqs_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sqs")


def exception_shapes() -> list[str]:
    names: set[str] = set()
    for operation in sqs_model().operation_names:
        names.update(shape.name for shape in sqs_model().operation_model(operation).error_shapes)
    return sorted(names)


# The class each modelled exception must map to.
EXPECTED: dict[str, type[errors.ServiceError]] = {
    "BatchEntryIdsNotDistinct": errors.BatchRequestError,
    "BatchRequestTooLong": errors.BatchRequestError,
    "EmptyBatchRequest": errors.BatchRequestError,
    "InvalidAddress": errors.InvalidRequestError,
    "InvalidAttributeName": errors.InvalidRequestError,
    "InvalidAttributeValue": errors.InvalidRequestError,
    "InvalidBatchEntryId": errors.BatchRequestError,
    "InvalidIdFormat": errors.InvalidRequestError,
    "InvalidMessageContents": errors.InvalidMessageContents,
    "InvalidSecurity": errors.AuthError,
    "KmsAccessDenied": errors.KmsError,
    "KmsDisabled": errors.KmsError,
    "KmsInvalidKeyUsage": errors.KmsError,
    "KmsInvalidState": errors.KmsError,
    "KmsNotFound": errors.KmsError,
    "KmsOptInRequired": errors.KmsError,
    "KmsThrottled": errors.ThrottledError,
    "MessageNotInflight": errors.MessageNotInflight,
    "OverLimit": errors.OverLimit,
    "PurgeQueueInProgress": errors.PurgeQueueInProgress,
    "QueueDeletedRecently": errors.QueueDeletedRecently,
    "QueueDoesNotExist": errors.QueueDoesNotExist,
    "QueueNameExists": errors.QueueAlreadyExists,
    "ReceiptHandleIsInvalid": errors.ReceiptHandleInvalid,
    "RequestThrottled": errors.ThrottledError,
    "ResourceNotFoundException": errors.ResourceNotFound,
    "TooManyEntriesInBatchRequest": errors.BatchRequestError,
    "UnsupportedOperation": errors.UnsupportedOperation,
}

# The legacy query codes SQS sends in ``x-amzn-query-error`` (the model's awsQueryError trait;
# botocore's bundled model no longer carries it, so the table is copied from the AWS SDK for
# JavaScript v3's client-sqs schema). Shapes without the trait use their own name.
LEGACY_CODES: dict[str, str] = {
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "InvalidAddress": "InvalidAddress",
    "InvalidAttributeName": "InvalidAttributeName",
    "InvalidAttributeValue": "InvalidAttributeValue",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "InvalidIdFormat": "InvalidIdFormat",
    "InvalidMessageContents": "InvalidMessageContents",
    "InvalidSecurity": "InvalidSecurity",
    "KmsAccessDenied": "KMS.AccessDeniedException",
    "KmsDisabled": "KMS.DisabledException",
    "KmsInvalidKeyUsage": "KMS.InvalidKeyUsageException",
    "KmsInvalidState": "KMS.InvalidStateException",
    "KmsNotFound": "KMS.NotFoundException",
    "KmsOptInRequired": "KMS.OptInRequired",
    "KmsThrottled": "KMS.ThrottlingException",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "OverLimit": "OverLimit",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "QueueDeletedRecently": "AWS.SimpleQueueService.QueueDeletedRecently",
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
    "RequestThrottled": "RequestThrottled",
    "ResourceNotFoundException": "ResourceNotFoundException",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
}


def test_tables_cover_every_exception_shape_of_the_model() -> None:
    assert exception_shapes() == sorted(EXPECTED) == sorted(LEGACY_CODES)


@pytest.mark.parametrize("shape", exception_shapes())
def test_every_exception_shape_maps_by_json_type(shape: str) -> None:
    cls = errors.for_code(f"com.amazonaws.sqs#{shape}", 400)
    assert cls is not errors.UnknownServiceError
    assert cls is EXPECTED[shape]
    assert errors.for_code(shape) is EXPECTED[shape]


def _legacy_params() -> list[Any]:
    params: list[Any] = []
    for shape, code in sorted(LEGACY_CODES.items()):
        params.append(pytest.param(shape, code, id=shape))
    return params


@pytest.mark.parametrize(("shape", "legacy"), _legacy_params())
def test_every_exception_shape_maps_by_legacy_query_code(shape: str, legacy: str) -> None:
    assert errors.for_code(legacy, 400) is EXPECTED[shape]
    # And as SQS sends it: the JSON __type plus the x-amzn-query-error header, which wins.
    info = parse_error(
        400,
        {"x-amzn-query-error": f"{legacy};Sender"},
        b'{"__type":"com.amazonaws.sqs#' + shape.encode() + b'","message":"m"}',
    )
    assert info.code == legacy
    assert errors.for_code(info.code, 400) is EXPECTED[shape]


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("AWS.SimpleQueueService.NonExistentQueue", errors.QueueDoesNotExist),
        ("QueueAlreadyExists", errors.QueueAlreadyExists),
        ("AWS.SimpleQueueService.PurgeQueueInProgress", errors.PurgeQueueInProgress),
        ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", errors.BatchRequestError),
        ("com.amazon.coral.service#UnrecognizedClientException", errors.AuthError),
        ("com.amazon.coral.availability#ThrottlingException", errors.ThrottledError),
        ("AccessDenied", errors.AuthError),
        ("SignatureDoesNotMatch", errors.AuthError),
        ("InternalError", errors.ServiceUnavailable),
        (
            "QueueDoesNotExist:http://internal.amazon.com/coral/com.amazonaws.sqs/",
            errors.QueueDoesNotExist,
        ),
    ],
)
def test_known_codes(code: str, cls: type[errors.ServiceError]) -> None:
    assert errors.for_code(code, 400) is cls


def test_unknown_codes_fall_back_on_status() -> None:
    assert errors.for_code("SomethingNew", 400) is errors.UnknownServiceError
    assert errors.for_code("SomethingNew") is errors.UnknownServiceError
    assert errors.for_code("SomethingNew", 500) is errors.ServiceUnavailable
    assert errors.for_code("HTTP503", 503) is errors.ServiceUnavailable


def test_retriable_classes() -> None:
    assert errors.ThrottledError.retriable
    assert errors.ServiceUnavailable.retriable
    assert errors.ConnectError.retriable
    assert not errors.QueueDoesNotExist.retriable
    assert not errors.ChecksumMismatch.retriable
    assert not errors.ValidationError.retriable
    assert not errors.UnknownServiceError.retriable


# -- parse_error ------------------------------------------------------------------------------


def test_parse_json_error() -> None:
    info = parse_error(
        400,
        {"x-amzn-RequestId": "rid-1"},
        b'{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The queue does not exist."}',
    )
    assert info.code == "QueueDoesNotExist"  # the namespace stripped, as botocore does
    assert info.message == "The queue does not exist."
    assert info.request_id == "rid-1"


def test_parse_query_xml_error() -> None:
    body = (
        b'<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
        b"<Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>"
        b"<Message>The specified queue does not exist.</Message><Detail/></Error>"
        b"<RequestId>42d59b56-7407-4c4a-be0f-4c88daeea257</RequestId></ErrorResponse>"
    )
    info = parse_error(400, {"x-amz-request-id": "rid-2"}, body)
    assert info.code == "AWS.SimpleQueueService.NonExistentQueue"
    assert info.message == "The specified queue does not exist."
    assert info.request_id == "rid-2"
    assert errors.for_code(info.code, 400) is errors.QueueDoesNotExist


def test_parse_error_without_body() -> None:
    info = parse_error(503, {}, b"")
    assert info.code == "HTTP503"
    assert info.message
    assert errors.for_code(info.code, 503) is errors.ServiceUnavailable


def test_parse_error_with_html_body() -> None:
    body = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    info = parse_error(502, {}, body)
    assert info.code == "HTTP502"
    summary = f"an HTML page of {len(body)} bytes titled '502 Bad Gateway'"
    assert info.message == f"HTTP status 502, {summary}"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("com.amazonaws.sqs#QueueDoesNotExist", "QueueDoesNotExist"),
        ("QueueDoesNotExist", "QueueDoesNotExist"),
        ("com.amazonaws.sqs#InvalidAddress:http://internal.amazon.com/coral", "InvalidAddress"),
        ("AWS.SimpleQueueService.NonExistentQueue", "AWS.SimpleQueueService.NonExistentQueue"),
    ],
)
def test_json_error_code_is_botocores(raw: str, code: str) -> None:
    body = json.dumps({"__type": raw, "message": "m"}).encode()
    assert parse_error(400, {}, body).code == code
    # botocore's own JSON parser, on the same response, reads the same code
    shape = sqs_model().operation_model("ListQueues").output_shape
    assert shape is not None
    parsed = botocore.parsers.JSONParser().parse(
        {"status_code": 400, "headers": {}, "body": body}, shape
    )
    assert parsed["Error"]["Code"] == code


def test_short_text_body_is_quoted_and_long_or_binary_ones_are_described() -> None:
    assert parse_error(500, {}, b"upstream went away\n").message == "upstream went away"
    long_body = b"x" * 5000
    assert parse_error(500, {}, long_body).message == "HTTP status 500, a 5000-byte body"
    assert parse_error(500, {}, b"\x00\x01\x02").message == "HTTP status 500, a 3-byte body"


# -- what the client raises -----------------------------------------------------------------


async def test_client_error_carries_code_message_status_request_id_operation() -> None:
    def handler(call: RecordedCall) -> Response:
        return error_response(
            400,
            "QueueDoesNotExist",
            "The specified queue does not exist.",
            query_code="AWS.SimpleQueueService.NonExistentQueue",
        )

    conn, _ = connect(handler)
    async with conn:
        with pytest.raises(errors.QueueDoesNotExist) as info:
            await conn.queue(QUEUE_URL).write("x")
    exc = info.value
    assert exc.code == "AWS.SimpleQueueService.NonExistentQueue"
    assert exc.message == "The specified queue does not exist."
    assert exc.status == 400
    assert exc.request_id == "req-1"
    assert exc.operation == "SendMessage"
    assert "SendMessage" in str(exc)
    assert "The specified queue does not exist." in str(exc)


async def test_client_maps_xml_error_bodies() -> None:
    body = (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>QueueAlreadyExists</Code>"
        b"<Message>exists</Message></Error></ErrorResponse>"
    )

    def handler(call: RecordedCall) -> Response:
        return Response(400, {"Content-Type": "text/xml", "x-amzn-RequestId": "rx"}, body)

    conn, _ = connect(handler)
    async with conn:
        with pytest.raises(errors.QueueAlreadyExists) as info:
            await conn.create_queue("jobs")
    assert info.value.code == "QueueAlreadyExists"
    assert info.value.message == "exists"
    assert info.value.request_id == "rx"
    assert info.value.operation == "CreateQueue"


async def test_unknown_5xx_is_service_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sleep(monkeypatch)

    def handler(call: RecordedCall) -> Response:
        return Response(599, {}, b"")

    conn, mock = connect(handler)
    async with conn:
        with pytest.raises(errors.ServiceUnavailable) as info:
            await conn.list_queues()
    assert info.value.status == 599
    assert len(mock.calls) == 3  # retried: the default policy makes 3 attempts


async def test_unknown_4xx_is_unknown_service_error() -> None:
    def handler(call: RecordedCall) -> Response:
        return json_response(400, {"__type": "com.amazonaws.sqs#BrandNewError", "message": "?"})

    conn, mock = connect(handler)
    async with conn:
        with pytest.raises(errors.UnknownServiceError) as info:
            await conn.list_queues()
    assert info.value.code == "BrandNewError"
    assert info.value.request_id == "req-42"
    assert len(mock.calls) == 1


async def test_kms_throttling_from_sqs_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sleep(monkeypatch)
    answers = [
        error_response(400, "KmsThrottled", "slow down", query_code="KMS.ThrottlingException")
    ]

    def handler(call: RecordedCall) -> Response | dict[str, Any]:
        return answers.pop() if answers else {}

    conn, mock = connect(handler)
    async with conn:
        await conn.list_queues()
    assert len(mock.calls) == 2


def test_error_tree() -> None:
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.ValidationError, errors.SQSError)
    assert issubclass(errors.MessageTooLarge, errors.ValidationError)
    assert issubclass(errors.ClientClosedError, RuntimeError)
    assert issubclass(errors.ChecksumMismatch, errors.ResponseError)
    assert issubclass(errors.ChecksumMismatch, errors.TransportError)
    assert issubclass(errors.ServiceMessageTooLarge, errors.MessageTooLarge)
    assert issubclass(errors.InvalidMessageContents, errors.InvalidRequestError)
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.SQSError), name


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"unterminated'])
async def test_unparseable_success_response_is_a_response_error(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays = fake_sleep(monkeypatch)

    def handler(call: RecordedCall) -> Response:
        return Response(200, {}, body)

    conn, mock = connect(handler)
    async with conn:
        with pytest.raises(errors.ResponseError) as info:
            await conn.list_queues()
    assert info.value.operation == "ListQueues"
    assert len(mock.calls) == 3  # a garbled response is a transport failure: retried
    assert len(delays) == 2


async def test_malformed_binary_attribute_in_a_receive_is_a_response_error() -> None:
    def handler(call: RecordedCall) -> dict[str, Any]:
        return {
            "Messages": [
                {
                    "MessageId": "m",
                    "ReceiptHandle": "rh",
                    "Body": "x",
                    "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": "AAE"}},
                }
            ]
        }

    conn, _ = connect(handler, retry=RetryPolicy(max_attempts=1))
    async with conn:
        with pytest.raises(errors.ResponseError):
            await conn.queue(QUEUE_URL).get_messages(1)
