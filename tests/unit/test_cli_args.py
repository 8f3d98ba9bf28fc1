"""The command line's arguments and dump formats, without a server."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from sqs_async import Message
from sqs_async._cli import CLIError, _prepare
from sqs_async._cli_args import global_options
from sqs_async._cli_args import parser as _parser
from sqs_async._records import Record, RecordError, parse_jsonl, parse_raw, to_jsonl


def parse(*argv: str) -> argparse.Namespace:
    return _parser().parse_args(list(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["--output", "json", "--region", "eu-west-1", "count", "q"],
        ["count", "q", "--output", "json", "--region", "eu-west-1"],
        ["--output", "json", "count", "q", "--region", "eu-west-1"],
        ["--region", "eu-west-1", "count", "--output", "json", "q"],
    ],
)
def test_global_options_before_or_after_the_command(argv: list[str]) -> None:
    args = parse(*argv)
    assert (args.output, args.region, args.name) == ("json", "eu-west-1", "q")
    assert (args.endpoint_url, args.profile) == (None, None)  # the top-level defaults


def test_defaults_when_no_global_option_is_given() -> None:
    args = parse("queues")
    assert (args.output, args.region, args.endpoint_url, args.profile) == ("text", None, None, None)


def test_given_on_both_sides_the_later_wins() -> None:
    assert parse("--output", "json", "queues", "--output", "text").output == "text"
    assert parse("--profile", "a", "demo", "--profile", "b").profile == "b"


def test_demo_takes_the_global_endpoint_either_side() -> None:
    assert parse("demo", "--endpoint-url", "http://127.0.0.1:1").endpoint_url == (
        "http://127.0.0.1:1"
    )
    assert parse("--endpoint-url", "http://127.0.0.1:2", "demo").endpoint_url == (
        "http://127.0.0.1:2"
    )


def test_worker_takes_the_global_options_either_side() -> None:
    after = parse("worker", "jobs:handle", "--queue", "q", "--endpoint-url", "http://127.0.0.1:1")
    before = parse("--endpoint-url", "http://127.0.0.1:1", "worker", "jobs:handle", "--queue", "q")
    for args in (after, before):
        assert (args.command, args.handler, args.queue) == ("worker", "jobs:handle", "q")
        assert args.endpoint_url == "http://127.0.0.1:1"


def test_global_options_is_a_parent_for_new_commands() -> None:
    parent = global_options()
    assert isinstance(parent, argparse.ArgumentParser)
    assert not parent.add_help
    top = argparse.ArgumentParser(parents=[global_options()])
    top.set_defaults(output="text")
    sub = top.add_subparsers(dest="command")
    sub.add_parser("worker", parents=[global_options()]).add_argument("--concurrency", type=int)
    args = top.parse_args(["--output", "json", "worker", "--concurrency", "3"])
    assert (args.output, args.concurrency) == ("json", 3)
    args = top.parse_args(["worker", "--endpoint-url", "http://127.0.0.1:1"])
    assert (args.output, args.endpoint_url) == ("text", "http://127.0.0.1:1")


def test_bad_output_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse("queues", "--output", "yaml")
    assert exited.value.code == 2
    assert "invalid choice: 'yaml'" in capsys.readouterr().err


# -- checks made before any request -----------------------------------------------------------


def prepared(*argv: str) -> argparse.Namespace:
    args = parse(*argv)
    _prepare(args)
    return args


def test_sep_implies_raw_and_must_not_be_empty(tmp_path: Path) -> None:
    assert prepared("dump", "q", "f").raw is False
    args = prepared("dump", "q", "f", "--sep", "|")
    assert (args.raw, args.sep) == (True, "|")
    assert prepared("dump", "q", "f", "--raw").sep == "\n"
    with pytest.raises(CLIError, match="--sep must not be empty"):
        prepared("dump", "q", "f", "--sep", "")


@pytest.mark.parametrize(("source", "destination"), [("q", "q"), ("http://h/1/q", "http://h/1/q/")])
def test_move_into_itself_is_refused(source: str, destination: str) -> None:
    with pytest.raises(CLIError, match="both the source and the destination"):
        prepared("move", source, destination)


def test_load_reads_checks_and_skips_before_sending(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_text('{"body": "a"}\n\n{"body": "b", "group_id": "g"}\n{"body": "c"}\n')
    args = prepared("load", "q", str(path), "--skip", "2")
    assert [(r.body, r.line) for r in args.records] == [("b", 3), ("c", 4)]
    with pytest.raises(CLIError, match=r"line 4: no group id, and q.fifo is a FIFO queue"):
        prepared("load", "q.fifo", str(path), "--skip", "2")
    assert len(prepared("load", "q.fifo", str(path), "--group-id", "x").records) == 3
    with pytest.raises(CLIError, match="no such file"):
        prepared("load", "q", str(tmp_path / "absent"))
    path.write_text("plain body\n")
    with pytest.raises(CLIError, match=r"line 1: .*use --raw"):
        prepared("load", "q", str(path))
    with pytest.raises(SystemExit):
        parse("load", "q", str(path), "--skip", "-1")


# -- the formats --------------------------------------------------------------------------------


def test_jsonl_record_round_trip() -> None:
    message = Message.from_wire(
        {
            "Body": "two\nlines\t🎉",
            "MessageAttributes": {
                "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
                "s": {"DataType": "String.x", "StringValue": "é"},
            },
            "Attributes": {"MessageGroupId": "g", "MessageDeduplicationId": "d"},
        }
    )
    line = to_jsonl(message)
    assert "\n" not in line
    assert json.loads(line)["message_attributes"]["b"]["BinaryValue"] == "AP8="
    [record] = parse_jsonl(line + "\n")
    assert record == Record(
        body="two\nlines\t🎉",
        message_attributes={
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
            "s": {"DataType": "String.x", "StringValue": "é"},
        },
        group_id="g",
        deduplication_id="d",
        index=0,
        line=1,
    )
    assert record.where() == "line 1"


BAD_BINARY = {"DataType": "Binary", "BinaryValue": "!"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[1]", "line 1: not a JSON object"),
        ('\n{"body": 1}', 'line 2: "body" must be a string'),
        ('{"body": "x", "extra": 1}', "unknown key"),
        ('{"body": "x", "group_id": 5}', "must be strings or null"),
        ('{"body": "x", "message_attributes": {"a": {"StringValue": "v"}}}', "needs a DataType"),
        (json.dumps({"body": "x", "message_attributes": {"a": BAD_BINARY}}), "not base64"),
        ('{"body": "x", "message_attributes": {"a": {"DataType": "String"}}}', "needs a String"),
        ('{"body": "x", "message_attributes": []}', "must be an object"),
        ("{not json", "line 1:"),
    ],
)
def test_jsonl_errors_name_the_line(text: str, error: str) -> None:
    with pytest.raises(RecordError, match=error):
        parse_jsonl(text)


def test_raw_bodies_skip_empty_ones_and_know_their_line() -> None:
    records = parse_raw("a\nb|c||d\n", "|")
    assert [(r.body, r.index, r.line) for r in records] == [
        ("a\nb", 0, 1),
        ("c", 1, 2),
        ("d\n", 3, 2),
    ]
    assert records[1].where() == "body 2 (line 2)"
    with pytest.raises(ValueError, match="must not be empty"):
        parse_raw("x", "")
