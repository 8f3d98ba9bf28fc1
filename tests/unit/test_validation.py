"""Input limits at exactly the limit and one past it; failures never reach the transport."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from _core_support import QUEUE_URL, connect, default_handler

from sqs_async import Limits, Message, MessageTooLarge, Queue, SQSConnection, ValidationError
from sqs_async._transport.mock import RecordedCall

LIMIT = 1_048_576
Action = Callable[[Queue], Awaitable[Any]]


async def accepted(action: Action, **kwargs: Any) -> list[RecordedCall]:
    """Run ``action`` on a queue; it must succeed and send at least one request."""
    conn, mock = connect(default_handler, **kwargs)
    async with conn:
        await action(conn.queue(QUEUE_URL))
    assert mock.calls, "nothing was sent"
    return mock.calls


async def rejected(action: Action, **kwargs: Any) -> ValidationError:
    """Run ``action``; it must raise ValidationError before any request is made."""
    conn, mock = connect(default_handler, **kwargs)
    async with conn:
        with pytest.raises(ValidationError) as info:
            await action(conn.queue(QUEUE_URL))
    assert mock.calls == [], "a request was sent before validation failed"
    return info.value


def connection(queue: Queue) -> SQSConnection:
    assert isinstance(queue.connection, SQSConnection)
    return queue.connection


def received(queue: Queue) -> Message:
    message = Message.from_wire({"Body": "x", "MessageId": "m", "ReceiptHandle": "rh"}, queue)
    return message


# -- message size --------------------------------------------------------------------------


async def test_ascii_body_at_the_limit_is_accepted() -> None:
    calls = await accepted(lambda q: q.write("a" * LIMIT))
    assert len(calls[0].params["MessageBody"]) == LIMIT


async def test_ascii_body_one_past_the_limit_is_rejected() -> None:
    exc = await rejected(lambda q: q.write("a" * (LIMIT + 1)))
    assert isinstance(exc, MessageTooLarge)
    assert "1048577" in str(exc)
    assert "1048576" in str(exc)


async def test_multibyte_body_counts_utf8_bytes() -> None:
    await accepted(lambda q: q.write("\u00e9" * (LIMIT // 2)))  # 2 bytes each: exactly 1 MiB
    exc = await rejected(lambda q: q.write("\u00e9" * (LIMIT // 2) + "a"))
    assert isinstance(exc, MessageTooLarge)
    await accepted(lambda q: q.write("\U0001f600" * (LIMIT // 4)))  # 4 bytes each
    await rejected(lambda q: q.write("\U0001f600" * (LIMIT // 4) + "a"))


async def test_body_and_attributes_are_counted_together() -> None:
    # "k" (1) + "String" (6) + "v" (1) = 8 bytes of attributes
    await accepted(lambda q: q.write("a" * (LIMIT - 8), message_attributes={"k": "v"}))
    exc = await rejected(lambda q: q.write("a" * (LIMIT - 7), message_attributes={"k": "v"}))
    assert isinstance(exc, MessageTooLarge)


async def test_binary_and_number_attributes_are_counted() -> None:
    # "bin" (3) + "Binary" (6) + 100 bytes = 109; "num" (3) + "Number" (6) + "12345" (5) = 14
    attributes: dict[str, Any] = {"bin": b"\x00" * 100, "num": 12345}
    await accepted(lambda q: q.write("a" * (LIMIT - 123), message_attributes=attributes))
    await rejected(lambda q: q.write("a" * (LIMIT - 122), message_attributes=attributes))


async def test_custom_type_labels_count_towards_the_size() -> None:
    # "k" (1) + "String.custom" (13) + "v" (1) = 15
    attrs = {"k": {"DataType": "String.custom", "StringValue": "v"}}
    await accepted(lambda q: q.write("a" * (LIMIT - 15), message_attributes=attrs))
    await rejected(lambda q: q.write("a" * (LIMIT - 14), message_attributes=attrs))


async def test_custom_limit() -> None:
    limits = Limits(max_message_bytes=262_144)
    await accepted(lambda q: q.write("a" * 262_144), limits=limits)
    exc = await rejected(lambda q: q.write("a" * 262_145), limits=limits)
    assert "262144" in str(exc)


def test_limits_bounds() -> None:
    Limits(max_message_bytes=1024)
    Limits(max_message_bytes=LIMIT)
    with pytest.raises(ValueError, match="max_message_bytes"):
        Limits(max_message_bytes=1023)
    with pytest.raises(ValueError, match="max_message_bytes"):
        Limits(max_message_bytes=LIMIT + 1)


async def test_system_attributes_do_not_count_towards_the_size() -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    conn, mock = connect(default_handler)
    async with conn:
        await conn.send_message(
            QueueUrl=QUEUE_URL,
            MessageBody="a" * LIMIT,
            MessageSystemAttributes={
                "AWSTraceHeader": {"DataType": "String", "StringValue": trace}
            },
        )
    assert len(mock.calls) == 1


# -- message attributes ----------------------------------------------------------------------


async def test_ten_attributes_accepted_eleven_rejected() -> None:
    ten = {f"a{i}": "v" for i in range(10)}
    await accepted(lambda q: q.write("x", message_attributes=ten))
    eleven = {f"a{i}": "v" for i in range(11)}
    exc = await rejected(lambda q: q.write("x", message_attributes=eleven))
    assert "MessageAttributes" in str(exc)
    assert "11" in str(exc)
    assert "10" in str(exc)


@pytest.mark.parametrize(
    "name",
    ["a", "a.b", "a-b_c.D9", "AWSish", "Amazonian", "x" * 256],
    ids=["one", "dot", "mixed", "aws-no-dot", "amazon-no-dot", "256"],
)
async def test_valid_attribute_names(name: str) -> None:
    calls = await accepted(lambda q: q.write("x", message_attributes={name: "v"}))
    assert name in calls[0].params["MessageAttributes"]


@pytest.mark.parametrize(
    "name",
    [
        "AWS.x",
        "aws.x",
        "Amazon.x",
        "amazon.foo",
        "AMAZON.foo",
        ".a",
        "a.",
        "a..b",
        "x" * 257,
        "",
        "a b",
        "a/b",
        "caf\u00e9",
    ],
    ids=[
        "AWS.",
        "aws.",
        "Amazon.",
        "amazon.",
        "AMAZON.",
        "leading-dot",
        "trailing-dot",
        "double-dot",
        "257",
        "empty",
        "space",
        "slash",
        "non-ascii",
    ],
)
async def test_invalid_attribute_names(name: str) -> None:
    exc = await rejected(lambda q: q.write("x", message_attributes={name: "v"}))
    assert "MessageAttributes" in str(exc)


async def test_attribute_name_length_is_named_in_the_error() -> None:
    exc = await rejected(lambda q: q.write("x", message_attributes={"x" * 257: "v"}))
    assert "256" in str(exc)


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", "-inf", "1e", "0x10"])
async def test_number_attribute_must_be_a_number(value: str) -> None:
    attrs = {"n": {"DataType": "Number", "StringValue": value}}
    exc = await rejected(lambda q: q.write("x", message_attributes=attrs))
    assert "'n'" in str(exc)


@pytest.mark.parametrize(
    "value",
    [
        "1_000",
        " 1 ",
        "\u0661\u0662",
    ],
    ids=["underscore", "spaces", "arabic-indic-digits"],
)
async def test_number_attribute_python_only_syntax_is_rejected(value: str) -> None:
    attrs = {"n": {"DataType": "Number", "StringValue": value}}
    await rejected(lambda q: q.write("x", message_attributes=attrs))


@pytest.mark.parametrize("value", ["0", "-1.5", "1e10", "12345678901234567890", "+3"])
async def test_number_attribute_accepts_numbers(value: str) -> None:
    attrs = {"n": {"DataType": "Number", "StringValue": value}}
    await accepted(lambda q: q.write("x", message_attributes=attrs))


# SQS's Number: up to 38 significant digits, 0 or a magnitude from 10^-128 to 10^+126.
NUMBERS_IN_RANGE: list[Any] = [
    "1e126",
    "-1E+126",
    "1" + "0" * 126,  # 10^126 written out: one significant digit
    "1e-128",
    "-0.1e-127",
    "9" * 38,
    "-0." + "9" * 38,
    "1." + "0" * 60,  # trailing zeros are not precision
    "0",
    "-0.000",
    "0e999",
    10**126,
    -(10**37),
    int("9" * 38),
    1e126,
    -1e-128,
    0.1,
    1 / 3,
    2.0**-100,
    Decimal("1E+126"),
    Decimal("-" + "9" * 38 + "E-165"),  # -9.99...e-128
    Decimal("0E-500"),
]
NUMBERS_OUT_OF_RANGE: list[Any] = [
    "1e127",
    "1.1e126",
    "-1" + "0" * 127,
    "1e-129",
    "9.99e-129",
    "1" * 39,
    "1." + "0" * 37 + "1",
    "-0." + "1" * 39,
    10**127,
    -(10**38) - 1,
    1e200,
    -1e200,
    1e-200,
    Decimal("1E+200"),
    Decimal("1" * 39),
    Decimal("-1E-129"),
]


def number_attribute(value: Any) -> dict[str, Any]:
    """A str in the wire shape (a custom label too); any other value as a friendly value."""
    if isinstance(value, str):
        return {"n": {"DataType": "Number.label", "StringValue": value}}
    return {"n": value}


def short_id(value: Any) -> str:
    return repr(value)[:40]


@pytest.mark.parametrize("value", NUMBERS_IN_RANGE, ids=short_id)
async def test_number_attribute_in_range_is_accepted(value: Any) -> None:
    attributes = number_attribute(value)
    calls = await accepted(lambda q: q.write("x", message_attributes=attributes))
    sent = calls[0].params["MessageAttributes"]["n"]
    # What goes on the wire is the text given, or str() of a Python number ("1e+126").
    assert sent["StringValue"] == str(value)


@pytest.mark.parametrize("value", NUMBERS_OUT_OF_RANGE, ids=short_id)
async def test_number_attribute_out_of_range_is_refused_with_the_limit(value: Any) -> None:
    attributes = number_attribute(value)
    exc = await rejected(lambda q: q.write("x", message_attributes=attributes))
    text = str(exc)
    assert "'n'" in text
    assert "38 significant digits" in text
    assert "10^-128" in text
    assert "10^+126" in text


async def test_number_attribute_out_of_range_is_refused_in_every_send_path() -> None:
    bad = {"n": 1e200}
    await rejected(lambda q: q.write_batch([("0", "a", 0, {"ok": 1}), ("1", "b", 0, bad)]))
    await rejected(lambda q: q.write(Message("x", message_attributes=bad)))
    await rejected(
        lambda q: q.connection.send_message(
            QueueUrl=QUEUE_URL,
            MessageBody="x",
            MessageAttributes={"n": {"DataType": "Number", "StringValue": "1e-129"}},
        )
    )


async def test_number_precision_error_names_the_digit_count() -> None:
    exc = await rejected(lambda q: q.write("x", message_attributes={"n": int("1" * 40)}))
    assert "40 significant digits" in str(exc)


async def test_binary_attribute_must_not_be_empty() -> None:
    exc = await rejected(lambda q: q.write("x", message_attributes={"b": b""}))
    assert "Binary" in str(exc)


async def test_string_attribute_must_not_be_empty() -> None:
    await rejected(lambda q: q.write("x", message_attributes={"s": ""}))


async def test_string_attribute_characters_are_checked() -> None:
    await rejected(lambda q: q.write("x", message_attributes={"s": "a\x00b"}))


@pytest.mark.parametrize("data_type", ["Strings", "string", "Blob", "String.", ""])
async def test_bad_data_types(data_type: str) -> None:
    attrs = {"k": {"DataType": data_type, "StringValue": "v"}}
    exc = await rejected(lambda q: q.write("x", message_attributes=attrs))
    assert "DataType" in str(exc)


async def test_bool_attribute_values_are_rejected() -> None:
    await rejected(lambda q: q.write("x", message_attributes={"flag": True}))


# -- body characters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "char",
    ["\x00", "\x08", "\x0b", "\x1f", "\ufffe", "\uffff", chr(0xD800), chr(0xDFFF)],
    ids=["NUL", "BS", "VT", "US", "FFFE", "FFFF", "lone-high-surrogate", "lone-low-surrogate"],
)
async def test_invalid_body_characters(char: str) -> None:
    exc = await rejected(lambda q: q.write(f"ok{char}ok"))
    assert f"U+{ord(char):04X}" in str(exc)
    assert "index 2" in str(exc)


@pytest.mark.parametrize(
    "char",
    [
        "\t",
        "\n",
        "\r",
        " ",
        "\x7f",
        "\ud7ff",
        "\ue000",
        "\ufffd",
        "\U00010000",
        "\U0001f600",
        "\U0010ffff",
    ],
    ids=["TAB", "LF", "CR", "space", "DEL", "D7FF", "E000", "FFFD", "10000", "emoji", "10FFFF"],
)
async def test_allowed_body_characters(char: str) -> None:
    calls = await accepted(lambda q: q.write(f"ok{char}ok"))
    assert calls[0].params["MessageBody"] == f"ok{char}ok"


async def test_empty_body_is_rejected() -> None:
    exc = await rejected(lambda q: q.write(""))
    assert "empty" in str(exc)


async def test_non_str_body_is_rejected_by_message() -> None:
    await rejected(lambda q: q.write(Message(b"bytes")))
    await rejected(lambda q: q.write(12))


# -- ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize("delay", [0, 900])
async def test_delay_in_range(delay: int) -> None:
    calls = await accepted(lambda q: q.write("x", delay_seconds=delay))
    assert calls[0].params["DelaySeconds"] == delay


@pytest.mark.parametrize("delay", [901, -1, True, 1.5])
async def test_delay_out_of_range(delay: Any) -> None:
    exc = await rejected(lambda q: q.write("x", delay_seconds=delay))
    assert "DelaySeconds" in str(exc)


async def test_delay_out_of_range_in_write_batch() -> None:
    exc = await rejected(lambda q: q.write_batch(["a", "b"], delay_seconds=901))
    assert "900" in str(exc)


@pytest.mark.parametrize(
    ("ids", "needle"),
    [
        (["a"], "one id per message (2 messages)"),
        (["a", "b", "c"], "one id per message (2 messages)"),
        ("ab", "one id per message"),
        (["a", ""], "MessageDeduplicationId '' is invalid"),
        (["a", "x" * 129], "MessageDeduplicationId"),
    ],
)
async def test_deduplication_ids_of_write_batch_are_checked_before_io(
    ids: Any, needle: str
) -> None:
    exc = await rejected(lambda q: q.write_batch(["a", "b"], group_id="g", deduplication_ids=ids))
    assert needle in str(exc)


async def test_deduplication_ids_of_write_batch_go_one_per_entry() -> None:
    calls = await accepted(
        lambda q: q.write_batch(
            [f"m{i}" for i in range(12)],
            group_id="g",
            deduplication_ids=[f"d{i}" for i in range(12)],
        )
    )
    sent = [e["MessageDeduplicationId"] for c in calls for e in c.params["Entries"]]
    assert sent == [f"d{i}" for i in range(12)]


@pytest.mark.parametrize("seconds", [0, 43_200])
async def test_visibility_in_range(seconds: int) -> None:
    calls = await accepted(lambda q: q.get_messages(1, visibility_timeout=seconds))
    assert calls[0].params["VisibilityTimeout"] == seconds
    await accepted(lambda q: q.change_message_visibility(received(q), seconds))
    await accepted(lambda q: q.change_message_visibility_batch([received(q)], seconds))
    await accepted(lambda q: q.set_timeout(seconds))


@pytest.mark.parametrize("seconds", [43_201, -1])
async def test_visibility_out_of_range(seconds: int) -> None:
    exc = await rejected(lambda q: q.get_messages(1, visibility_timeout=seconds))
    assert "VisibilityTimeout" in str(exc)
    assert "43200" in str(exc)
    await rejected(lambda q: q.change_message_visibility(received(q), seconds))
    await rejected(lambda q: q.change_message_visibility_batch([received(q)], seconds))
    await rejected(lambda q: q.set_timeout(seconds))
    await rejected(lambda q: connection(q).create_queue("jobs", visibility_timeout=seconds))


@pytest.mark.parametrize("wait", [0, 20])
async def test_wait_in_range(wait: int) -> None:
    calls = await accepted(lambda q: q.get_messages(1, wait_time_seconds=wait))
    assert calls[0].params["WaitTimeSeconds"] == wait


@pytest.mark.parametrize("wait", [21, -1])
async def test_wait_out_of_range(wait: int) -> None:
    exc = await rejected(lambda q: q.get_messages(1, wait_time_seconds=wait))
    assert "WaitTimeSeconds" in str(exc)
    assert "20" in str(exc)
    await rejected(lambda q: q.read(wait_time_seconds=wait))


@pytest.mark.parametrize("count", [0, -1, True, 1.5, "3"])
async def test_num_messages_must_be_a_positive_int(count: Any) -> None:
    exc = await rejected(lambda q: q.get_messages(count))
    assert "num_messages" in str(exc)


@pytest.mark.parametrize(("count", "first_request"), [(1, 1), (10, 10), (11, 10), (1000, 10)])
async def test_num_messages_above_ten_is_capped_per_request(count: int, first_request: int) -> None:
    calls = await accepted(lambda q: q.get_messages(count))
    assert calls[0].params["MaxNumberOfMessages"] == first_request


@pytest.mark.parametrize("count", [0, 11])
async def test_low_level_max_number_of_messages(count: int) -> None:
    exc = await rejected(
        lambda q: q.connection.receive_message(QueueUrl=QUEUE_URL, MaxNumberOfMessages=count)
    )
    assert "MaxNumberOfMessages" in str(exc)


@pytest.mark.parametrize(
    ("attribute", "value", "ok"),
    [
        ("DelaySeconds", 900, True),
        ("DelaySeconds", 901, False),
        ("MaximumMessageSize", 1024, True),
        ("MaximumMessageSize", 1023, False),
        ("MaximumMessageSize", LIMIT, True),
        ("MaximumMessageSize", LIMIT + 1, False),
        ("ReceiveMessageWaitTimeSeconds", 20, True),
        ("ReceiveMessageWaitTimeSeconds", 21, False),
        ("MessageRetentionPeriod", 60, True),
        ("MessageRetentionPeriod", 59, False),
        ("VisibilityTimeout", "abc", False),
    ],
)
async def test_queue_attribute_ranges(attribute: str, value: Any, ok: bool) -> None:
    if ok:
        calls = await accepted(lambda q: q.set_attributes(**{attribute: value}))
        assert calls[0].params["Attributes"] == {attribute: str(value)}
    else:
        exc = await rejected(lambda q: q.set_attributes(**{attribute: value}))
        assert attribute in str(exc)


# -- queue names -----------------------------------------------------------------------------


async def create(name: str, **kwargs: Any) -> list[RecordedCall]:
    def handler(call: RecordedCall) -> dict[str, Any]:
        return {"QueueUrl": f"http://127.0.0.1:9/123/{name}"}

    conn, mock = connect(handler)
    async with conn:
        await conn.create_queue(name, **kwargs)
    return mock.calls


@pytest.mark.parametrize(
    "name",
    ["a", "a" * 80, "a" * 75 + ".fifo", "my-queue_1", "Q9"],
    ids=["one", "80", "80-with-fifo", "dash-underscore", "upper"],
)
async def test_valid_queue_names(name: str) -> None:
    calls = await create(name)
    assert calls[0].params["QueueName"] == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a" * 81,
        "a" * 76 + ".fifo",
        "my queue",
        "q.name",
        "q/x",
        "caf\u00e9",
        ".fifo",
        "a.fifo.fifo",
    ],
    ids=[
        "empty",
        "81",
        "81-with-fifo",
        "space",
        "dot",
        "slash",
        "non-ascii",
        "only-fifo",
        "two-fifo",
    ],
)
async def test_invalid_queue_names(name: str) -> None:
    exc = await rejected(lambda q: connection(q).create_queue(name))
    assert "80" in str(exc)
    await rejected(lambda q: connection(q).get_queue(name))
    await rejected(lambda q: q.connection.get_queue_url(QueueName=name))
    await rejected(lambda q: q.connection.create_queue_raw(QueueName=name))


async def test_fifo_name_sets_the_fifo_attribute() -> None:
    calls = await create("jobs.fifo")
    assert calls[0].params["Attributes"] == {"FifoQueue": "true"}


# -- FIFO ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["group_id", "deduplication_id"])
async def test_fifo_ids_at_the_limit(field: str) -> None:
    kwargs: dict[str, Any] = {field: "g" * 128}
    calls = await accepted(lambda q: q.write("x", **kwargs))
    key = "MessageGroupId" if field == "group_id" else "MessageDeduplicationId"
    assert calls[0].params[key] == "g" * 128


@pytest.mark.parametrize("field", ["group_id", "deduplication_id"])
@pytest.mark.parametrize(
    "value", ["g" * 129, "", "a b", "caf\u00e9"], ids=["129", "empty", "space", "non-ascii"]
)
async def test_fifo_ids_invalid(field: str, value: str) -> None:
    kwargs: dict[str, Any] = {field: value}
    exc = await rejected(lambda q: q.write("x", **kwargs))
    assert ("MessageGroupId" if field == "group_id" else "MessageDeduplicationId") in str(exc)


async def test_fifo_id_punctuation_is_allowed() -> None:
    await accepted(lambda q: q.write("x", group_id="!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"))


@pytest.mark.parametrize(("value", "ok"), [("r" * 128, True), ("r" * 129, False)])
async def test_receive_request_attempt_id(value: str, ok: bool) -> None:
    if ok:
        await accepted(lambda q: q.get_messages(1, receive_request_attempt_id=value))
    else:
        await rejected(lambda q: q.get_messages(1, receive_request_attempt_id=value))


# -- batches -------------------------------------------------------------------------------------


def entries(n: int) -> list[dict[str, Any]]:
    return [{"Id": f"e{i}", "MessageBody": f"body {i}"} for i in range(n)]


async def test_low_level_batch_of_ten_is_accepted() -> None:
    calls = await accepted(
        lambda q: q.connection.send_message_batch(QueueUrl=QUEUE_URL, Entries=entries(10))
    )
    assert len(calls[0].params["Entries"]) == 10


async def test_low_level_batch_of_eleven_is_rejected() -> None:
    exc = await rejected(
        lambda q: q.connection.send_message_batch(QueueUrl=QUEUE_URL, Entries=entries(11))
    )
    assert "11" in str(exc)
    assert "10" in str(exc)


@pytest.mark.parametrize("operation", ["delete_message_batch", "change_message_visibility_batch"])
async def test_low_level_handle_batches_of_eleven_are_rejected(operation: str) -> None:
    many = [{"Id": f"e{i}", "ReceiptHandle": f"rh{i}"} for i in range(11)]
    await rejected(lambda q: getattr(q.connection, operation)(QueueUrl=QUEUE_URL, Entries=many))


async def test_low_level_empty_batch_is_rejected() -> None:
    await rejected(lambda q: q.connection.send_message_batch(QueueUrl=QUEUE_URL, Entries=[]))


async def test_low_level_batch_with_duplicate_ids_is_rejected() -> None:
    twice = [{"Id": "same", "MessageBody": "a"}, {"Id": "same", "MessageBody": "b"}]
    exc = await rejected(
        lambda q: q.connection.send_message_batch(QueueUrl=QUEUE_URL, Entries=twice)
    )
    assert "same" in str(exc)


@pytest.mark.parametrize("entry_id", ["", "a" * 81, "a.b", "a b"])
async def test_low_level_batch_entry_ids(entry_id: str) -> None:
    await rejected(
        lambda q: q.connection.send_message_batch(
            QueueUrl=QUEUE_URL, Entries=[{"Id": entry_id, "MessageBody": "a"}]
        )
    )


async def test_low_level_batch_over_the_byte_limit_is_rejected() -> None:
    big = [{"Id": "a", "MessageBody": "a" * 600_000}, {"Id": "b", "MessageBody": "b" * 600_000}]
    exc = await rejected(lambda q: q.connection.send_message_batch(QueueUrl=QUEUE_URL, Entries=big))
    assert isinstance(exc, MessageTooLarge)
    assert "batch" in str(exc)


async def test_write_batch_of_25_is_split_into_three_calls() -> None:
    calls = await accepted(lambda q: q.write_batch([f"m{i}" for i in range(25)]))
    assert [len(c.params["Entries"]) for c in calls] == [10, 10, 5]
    bodies = [e["MessageBody"] for c in calls for e in c.params["Entries"]]
    assert bodies == [f"m{i}" for i in range(25)]


async def test_write_batch_splits_on_total_bytes() -> None:
    bodies = ["a" * 400_000, "b" * 400_000, "c" * 400_000, "d" * 10]
    calls = await accepted(lambda q: q.write_batch(bodies))
    assert [len(c.params["Entries"]) for c in calls] == [2, 2]
    for call in calls:
        assert sum(len(e["MessageBody"]) for e in call.params["Entries"]) <= LIMIT


async def test_write_batch_with_one_invalid_message_sends_nothing() -> None:
    exc = await rejected(lambda q: q.write_batch(["ok"] * 12 + ["bad\x00"]))
    assert "messages[12]" in str(exc)


async def test_write_batch_with_one_oversize_message_sends_nothing() -> None:
    exc = await rejected(lambda q: q.write_batch(["ok"] * 12 + ["a" * (LIMIT + 1)]))
    assert isinstance(exc, MessageTooLarge)
