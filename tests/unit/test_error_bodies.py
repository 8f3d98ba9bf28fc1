"""Error bodies that are not AWS error documents: moto's HTML 500 page, long or binary bodies.

They are described (with the status), never pasted, in exception messages and in the
consumer's retry warnings.
"""

from __future__ import annotations

import logging

import pytest
from _core_support import ENDPOINT, QUEUE_URL, connect, fake_sleep
from faults import FakeSQS

from sqs_async import Message, ResponseError, RetryPolicy, ServiceUnavailable, SQSConnection
from sqs_async._transport.base import Response
from sqs_async._transport.mock import RecordedCall

# What moto's server (werkzeug) answers when its handler crashes, with the traceback of
# its debug mode appended.
MOTO_500 = (
    b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was "
    b"unable to complete your request. Either the server is overloaded or there is an error "
    b"in the application.</p>\n" + b"<pre>Traceback (most recent call last): ...</pre>\n" * 40
)
SUMMARY = (
    f"HTTP status 500, an HTML page of {len(MOTO_500)} bytes titled '500 Internal Server Error'"
)


def _html_500(call: RecordedCall) -> Response:
    return Response(500, {"Content-Type": "text/html; charset=utf-8"}, MOTO_500)


async def test_an_html_error_page_is_summarised_in_the_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_sleep(monkeypatch)
    conn, mock = connect(_html_500)
    async with conn:
        with pytest.raises(ServiceUnavailable) as info:
            await conn.queue(QUEUE_URL).write("x")
    exc = info.value
    assert len(mock.calls) == 3  # a 500 is retried
    assert exc.status == 500
    assert exc.code == "HTTP500"
    assert exc.message == SUMMARY
    assert str(exc) == f"SendMessage: HTTP500: {SUMMARY}"
    for text in (str(exc), repr(exc), *map(str, exc.args)):
        assert "<h1>" not in text
        assert "Traceback" not in text


async def test_a_non_json_success_body_is_summarised_too() -> None:
    conn, _ = connect(lambda call: Response(200, {"Content-Type": "text/html"}, MOTO_500))
    async with conn:
        with pytest.raises(ResponseError, match="response is not valid JSON: an HTML page") as info:
            await conn.list_queues()
    assert "<h1>" not in str(info.value)


async def test_the_consumers_retry_warning_does_not_paste_the_page(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeSQS()
    fake.add("one")
    fake.fail["ReceiveMessage"].append(Response(500, {"Content-Type": "text/html"}, MOTO_500))
    seen: list[str] = []

    async def handler(message: Message) -> None:
        seen.append(message.get_body())

    retry = RetryPolicy(max_attempts=1)
    conn = SQSConnection("k", "s", transport=fake.transport(), retry=retry, endpoint_url=ENDPOINT)
    caplog.set_level(logging.WARNING, logger="sqs_async")
    async with conn:
        stats = await conn.queue(fake.url).consume(
            handler, wait_time_seconds=0, stop_when_empty=True
        )
    assert seen == ["one"]
    assert stats.receive_errors == 1
    warnings = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(warnings) == 1
    assert SUMMARY in warnings[0]
    assert "<h1>" not in warnings[0]
