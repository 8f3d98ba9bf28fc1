"""The JSON 1.0 wire format: request bodies, headers, endpoints, and decoding of responses."""

from __future__ import annotations

import base64
import json
import logging
import re
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from _core_support import (
    ACCESS_KEY,
    ENDPOINT,
    HOST,
    QUEUE_URL,
    SECRET_KEY,
    connect,
    default_handler,
    fake_sleep,
    sent_result,
    wire_message,
)
from aioresponses import aioresponses
from yarl import URL

from sqs_async import ConnectError, QueueDoesNotExist, RetryPolicy, SQSConnection
from sqs_async._protocol.codec import decode_response, encode_request
from sqs_async._transport.mock import MockTransport, RecordedCall

AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/us-east-1/sqs/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=[0-9a-f]{64}$"
)


async def test_send_message_body_with_string_number_and_binary_attributes() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        await queue.write(
            "hello",
            message_attributes={"s": "text", "n": 42, "b": b"\x00\xffbin"},
            delay_seconds=5,
        )
    (call,) = mock.calls
    assert call.operation == "SendMessage"
    assert call.params == {
        "QueueUrl": QUEUE_URL,
        "MessageBody": "hello",
        "DelaySeconds": 5,
        "MessageAttributes": {
            "s": {"DataType": "String", "StringValue": "text"},
            "n": {"DataType": "Number", "StringValue": "42"},
            "b": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x00\xffbin").decode()},
        },
    }


async def test_send_message_batch_body() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        queue = conn.queue(QUEUE_URL)
        result = await queue.write_batch(
            [
                "first",
                ("ignored-id", "second", 3, {"b": b"\x01\x02"}),
            ]
        )
    assert result
    (call,) = mock.calls
    assert call.operation == "SendMessageBatch"
    assert call.params == {
        "QueueUrl": QUEUE_URL,
        "Entries": [
            {"Id": "0", "MessageBody": "first"},
            {
                "Id": "1",
                "MessageBody": "second",
                "DelaySeconds": 3,
                "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": "AQI="}},
            },
        ],
    }


async def test_receive_message_decodes_binary_attributes_to_bytes() -> None:
    attrs = {
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
        "s": {"DataType": "String", "StringValue": "v"},
    }

    def handler(call: RecordedCall) -> dict[str, Any]:
        return {"Messages": [wire_message("body", "m-1", attributes=attrs)]}

    conn, mock = connect(handler)
    async with conn:
        (message,) = await conn.queue(QUEUE_URL).get_messages(1)
    assert message.message_attributes["b"]["BinaryValue"] == b"\x00\x01\xfe\xff"
    assert message.message_attributes["s"] == {"DataType": "String", "StringValue": "v"}
    assert message.get_body() == "body"
    assert message.id == "m-1"
    assert message.receipt_handle == "rh-m-1"
    assert mock.calls[0].params == {
        "QueueUrl": QUEUE_URL,
        "MaxNumberOfMessages": 1,
        "MessageSystemAttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }


@pytest.mark.parametrize(
    ("op", "params"),
    [
        ("SendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": "x"}),
        ("GetQueueUrl", {"QueueName": "jobs"}),
        ("ReceiveMessage", {"QueueUrl": QUEUE_URL}),
        ("ListQueues", {}),
    ],
)
async def test_headers_sent(op: str, params: dict[str, Any]) -> None:
    conn, mock = connect(default_handler)
    async with conn:
        method = {
            "SendMessage": conn.send_message,
            "GetQueueUrl": conn.get_queue_url,
            "ReceiveMessage": conn.receive_message,
            "ListQueues": conn.list_queues,
        }[op]
        await method(**params)
    (call,) = mock.calls
    headers = {k.lower(): v for k, v in call.headers.items()}
    assert headers["x-amz-target"] == f"AmazonSQS.{op}"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["host"] == HOST
    assert re.fullmatch(r"\d{8}T\d{6}Z", headers["x-amz-date"])
    match = AUTH.match(headers["authorization"])
    assert match, headers["authorization"]
    signed = match.group("signed").split(";")
    assert {"content-type", "host", "x-amz-date", "x-amz-target"} <= set(signed)
    assert "x-amz-security-token" not in headers
    assert SECRET_KEY not in json.dumps(call.headers)


async def test_session_token_is_sent_and_signed() -> None:
    mock = MockTransport(default_handler)
    conn = SQSConnection(
        ACCESS_KEY,
        SECRET_KEY,
        aws_session_token="TOKEN123",
        region="us-east-1",
        endpoint_url=ENDPOINT,
        transport=mock,
    )
    async with conn:
        await conn.list_queues()
    headers = {k.lower(): v for k, v in mock.calls[0].headers.items()}
    assert headers["x-amz-security-token"] == "TOKEN123"
    match = AUTH.match(headers["authorization"])
    assert match
    assert "x-amz-security-token" in match.group("signed").split(";")


async def test_requests_go_to_the_endpoint_not_to_the_queue_url_host() -> None:
    conn, mock = connect(default_handler)
    async with conn:
        queue = conn.queue("https://elsewhere.example.com:8443/123/q")
        await queue.write("x")
        await queue.get_messages(1)
        await queue.count()
    assert len(mock.calls) == 3
    for call in mock.calls:
        assert call.url == ENDPOINT
        assert call.headers["Host"] == HOST
        assert call.params["QueueUrl"] == "https://elsewhere.example.com:8443/123/q"


async def test_default_endpoint_follows_the_region_not_the_queue_url() -> None:
    conn, mock = connect(default_handler, region="eu-central-1", endpoint_url=None)
    async with conn:
        await conn.queue("http://127.0.0.1:4566/000000000000/q").write("x")
    assert mock.calls[0].url == "https://sqs.eu-central-1.amazonaws.com"
    assert mock.calls[0].headers["Host"] == "sqs.eu-central-1.amazonaws.com"
    assert "/eu-central-1/sqs/aws4_request" in mock.calls[0].headers["Authorization"]


async def test_endpoint_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://10.1.2.3:4566")
    conn, mock = connect(default_handler, endpoint_url=None)
    async with conn:
        await conn.list_queues()
    assert mock.calls[0].url == "http://10.1.2.3:4566"
    assert mock.calls[0].headers["Host"] == "10.1.2.3:4566"


# -- the codec, directly -------------------------------------------------------------------


def test_encode_request_does_not_mutate_params_and_base64s_binary() -> None:
    attrs = {"b": {"DataType": "Binary", "BinaryValue": b"\xff"}}
    params = {"QueueUrl": QUEUE_URL, "MessageBody": "x", "MessageAttributes": attrs}
    body = encode_request("SendMessage", params)
    assert json.loads(body)["MessageAttributes"]["b"]["BinaryValue"] == "/w=="
    assert attrs["b"]["BinaryValue"] == b"\xff"


def test_encode_request_is_utf8_json() -> None:
    body = encode_request(
        "SendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": "h\u00e9 \U0001f600"}
    )
    assert json.loads(body.decode("utf-8"))["MessageBody"] == "h\u00e9 \U0001f600"


def test_decode_response_of_receive_with_binary_list_values() -> None:
    raw = json.dumps(
        {
            "Messages": [
                {
                    "Body": "x",
                    "MessageAttributes": {
                        "l": {"DataType": "Binary", "BinaryListValues": ["AAE=", "/w=="]}
                    },
                }
            ]
        }
    ).encode()
    data = decode_response("ReceiveMessage", raw)
    assert data["Messages"][0]["MessageAttributes"]["l"]["BinaryListValues"] == [
        b"\x00\x01",
        b"\xff",
    ]


def test_decode_response_empty_body_is_empty_dict() -> None:
    assert decode_response("DeleteMessage", b"") == {}


# -- the real aiohttp transport at the aiohttp edge (aioresponses: no sockets) ------------------


class _Aiohttp314Response(aiohttp.ClientResponse):
    """aioresponses 0.7.9 builds responses without aiohttp 3.14's ``stream_writer`` argument."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


async def test_aiohttp_transport_sends_signed_json_to_the_endpoint() -> None:
    with aioresponses() as mocked:
        mocked.post(
            ENDPOINT,
            body=json.dumps(sent_result({"MessageBody": "hello"})),
            headers={"Content-Type": "application/x-amz-json-1.0"},
            response_class=_Aiohttp314Response,
        )
        async with SQSConnection(
            ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=ENDPOINT, transport="aiohttp"
        ) as conn:
            message = await conn.queue(QUEUE_URL).write("hello")
        assert message.id == "mid-1"
        ((key, calls),) = mocked.requests.items()
    assert key == ("POST", URL(ENDPOINT))
    (request,) = calls
    headers = request.kwargs["headers"]
    assert headers["X-Amz-Target"] == "AmazonSQS.SendMessage"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert headers["Host"] == HOST
    assert AUTH.match(headers["Authorization"])
    assert json.loads(request.kwargs["data"]) == {"MessageBody": "hello", "QueueUrl": QUEUE_URL}


async def test_aiohttp_connection_errors_are_mapped_and_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delays = fake_sleep(monkeypatch)
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, exception=aiohttp.ClientConnectionError("reset"))
        mocked.post(ENDPOINT, exception=aiohttp.ClientConnectionError("reset"))
        mocked.post(
            ENDPOINT, payload={"QueueUrls": [QUEUE_URL]}, response_class=_Aiohttp314Response
        )
        async with SQSConnection(
            ACCESS_KEY,
            SECRET_KEY,
            region="us-east-1",
            endpoint_url=ENDPOINT,
            transport="aiohttp",
            retry=RetryPolicy(max_attempts=3),
        ) as conn:
            queues = await conn.get_all_queues()
    assert [q.url for q in queues] == [QUEUE_URL]
    assert len(delays) == 2


async def test_aiohttp_connection_error_after_last_attempt_is_connect_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_sleep(monkeypatch)
    with aioresponses() as mocked:
        mocked.post(ENDPOINT, exception=aiohttp.ClientConnectionError("reset"), repeat=True)
        async with SQSConnection(
            ACCESS_KEY,
            SECRET_KEY,
            region="us-east-1",
            endpoint_url=ENDPOINT,
            transport="aiohttp",
            retry=RetryPolicy(max_attempts=2),
        ) as conn:
            with pytest.raises(ConnectError) as info:
                await conn.list_queues()
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectionError)
    assert info.value.operation == "ListQueues"


async def test_aiohttp_error_responses_are_mapped_with_case_insensitive_headers() -> None:
    body = {"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone"}
    with aioresponses() as mocked:
        mocked.post(
            ENDPOINT,
            status=400,
            body=json.dumps(body),
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amzn-Query-Error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
                "X-Amzn-RequestId": "rid-77",
            },
            response_class=_Aiohttp314Response,
        )
        async with SQSConnection(
            ACCESS_KEY, SECRET_KEY, region="us-east-1", endpoint_url=ENDPOINT, transport="aiohttp"
        ) as conn:
            with pytest.raises(QueueDoesNotExist) as info:
                await conn.queue(QUEUE_URL).write("x")
    assert info.value.code == "AWS.SimpleQueueService.NonExistentQueue"
    assert info.value.request_id == "rid-77"
    assert info.value.status == 400
    assert info.value.message == "gone"


async def test_secrets_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    conn, _ = connect(default_handler)
    async with conn:
        await conn.queue(QUEUE_URL).write("x")
        await conn.list_queues()
    assert SECRET_KEY not in caplog.text
