"""The ``sqs-async`` command, driven as a subprocess against the local server."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from compat import (
    FAUXQS_ONE_PER_GROUP,
    LOCAL_COUNTS_IN_FLIGHT,
    LOCAL_LISTS_DELETED_QUEUES,
    known_divergent,
)
from race_support import sqs_call

from sqs_async._cli import Progress
from sqs_async.local import QueueNameFactory

pytestmark = pytest.mark.integration

DEADLINE = 15.0


class CLI:
    def __init__(self, endpoint: str, tmp_path: Path) -> None:
        self.env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_SQS": endpoint,
        }
        self.tmp_path = tmp_path

    def __call__(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "sqs_async", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{args} exited {result.returncode}: {result.stderr}")
        return result


@pytest.fixture
def cli(sqs_endpoint: str, tmp_path: Path) -> CLI:
    return CLI(sqs_endpoint, tmp_path)


@known_divergent("local-aws-sqs", LOCAL_LISTS_DELETED_QUEUES)
def test_create_list_count_delete(cli: CLI, sqs_queue_name: QueueNameFactory) -> None:
    name = sqs_queue_name()
    url = cli("create", name, "--visibility-timeout", "5").stdout.strip()
    assert url.endswith("/" + name)
    listed = json.loads(cli("--output", "json", "queues", "--prefix", name).stdout)
    assert listed == [{"name": name, "url": url}]
    cli("send", name, "hello", "--attribute", "kind=greeting")
    assert cli("count", name).stdout.strip() == "1"
    refused = cli("delete", name, check=False)
    assert refused.returncode == 1
    assert "holds about 1 message;" in refused.stderr
    assert cli("delete", name, "--force").stdout.strip() == f"deleted {name}"
    assert cli("queues", "--prefix", name).stdout == ""


def test_missing_queue_is_one_line_and_nonzero(cli: CLI, sqs_queue_name: QueueNameFactory) -> None:
    result = cli("count", sqs_queue_name(), check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "does not exist" in lines[0]


def test_usage_error_exits_2(cli: CLI) -> None:
    result = cli("count", check=False)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_send_lines_receive_and_delete(cli: CLI, sqs_queue_name: QueueNameFactory) -> None:
    name = sqs_queue_name()
    cli("create", name)
    sent = cli("--output", "json", "send", name, "--lines", stdin="one\ntwo\nthree\n")
    assert len(json.loads(sent.stdout)["sent"]) == 3
    received = cli("receive", name, "-n", "3", "--wait", "1", "--delete").stdout.split()
    assert sorted(received) == ["one", "three", "two"]
    assert cli("count", name, "--all").stdout.strip() == "0"


@known_divergent("fauxqs", FAUXQS_ONE_PER_GROUP)
def test_fifo_send_with_group(cli: CLI, sqs_queue_name: QueueNameFactory) -> None:
    name = sqs_queue_name()
    url = cli("create", name, "--fifo", "--attribute", "ContentBasedDeduplication=true").stdout
    assert url.strip().endswith(".fifo")
    cli("send", name + ".fifo", "first", "--group-id", "g")
    cli("send", name + ".fifo", "second", "--group-id", "g")
    out = cli("receive", name + ".fifo", "-n", "2", "--delete").stdout.split()
    assert out == ["first", "second"]


def test_tail_json_with_delete_and_limit(cli: CLI, sqs_queue_name: QueueNameFactory) -> None:
    name = sqs_queue_name()
    cli("create", name)
    cli("send", name, "--lines", stdin="a\nb\n")
    out = cli("tail", name, "--json", "--delete", "--max-messages", "2", "--wait", "1").stdout
    records = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["body"] for r in records) == ["a", "b"]
    assert all(r["id"] for r in records)
    assert cli("count", name, "--all").stdout.strip() == "0"


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
def test_dump_load_clear_purge(cli: CLI, sqs_queue_name: QueueNameFactory, tmp_path: Path) -> None:
    source, target = sqs_queue_name(), sqs_queue_name()
    cli("create", source)
    cli("create", target)
    bodies = [f"body {i}" for i in range(12)]
    cli("send", source, "--lines", stdin="\n".join(bodies))
    dump = tmp_path / "dump.txt"
    assert cli("dump", source, str(dump), "--sep", "|").stdout.strip() == (
        f"wrote 12 messages to {dump}"
    )
    assert sorted(dump.read_text().split("|")) == sorted(bodies)
    assert cli("count", source).stdout.strip() == "12"  # dump deletes nothing, releases all
    assert cli("load", target, str(dump), "--sep", "|").stdout.strip() == "sent 12 messages"
    assert cli("clear", target).stdout.strip() == "deleted 12 messages"
    assert cli("purge", source).stdout.strip() == f"purged {source}"
    assert cli("count", source, "--all").stdout.strip() == "0"


def test_load_missing_file(cli: CLI, sqs_queue_name: QueueNameFactory, tmp_path: Path) -> None:
    name = sqs_queue_name()
    cli("create", name)
    result = cli("load", name, str(tmp_path / "absent.txt"), check=False)
    assert result.returncode == 1
    assert "no such file" in result.stderr


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
def test_move_deletes_only_what_was_written(cli: CLI, sqs_queue_name: QueueNameFactory) -> None:
    source, target = sqs_queue_name(), sqs_queue_name()
    cli("create", source)
    cli("create", target)
    cli(
        "send", source, "--lines", "--attribute", "k=v", stdin="\n".join(f"m{i}" for i in range(15))
    )
    assert cli("move", source, target).stdout.strip() == "moved 15 messages"
    assert cli("count", source, "--all").stdout.strip() == "0"
    out = cli("--output", "json", "tail", target, "--json", "--max-messages", "1", "--wait", "1")
    record = json.loads(out.stdout.splitlines()[0])
    assert record["message_attributes"] == {"k": "v"}
    assert cli("count", target, "--all").stdout.strip() == "15"


def test_progress_is_silent_when_piped(tmp_path: Path) -> None:
    with open(tmp_path / "err.txt", "w+") as stream:
        progress = Progress("x", stream)
        progress(5)
        progress.close()
        stream.seek(0)
        assert stream.read() == ""
    with open(tmp_path / "tty.txt", "w+") as stream:
        progress = Progress("load q", stream, enabled=True)
        progress(1000)
        progress.close()
        stream.seek(0)
        text = stream.read()
    assert "load q: 1,000 messages" in text
    assert "/s)" in text


# -- global options before or after the command -------------------------------------------------


def test_global_options_go_before_or_after_the_command(
    cli: CLI, sqs_queue_name: QueueNameFactory
) -> None:
    name = sqs_queue_name()
    endpoint = cli.env.pop("AWS_ENDPOINT_URL_SQS")  # from the options only, in this test
    unreachable = "http://127.0.0.1:9"  # the discard port: nothing answers there
    cli("--endpoint-url", endpoint, "create", name)
    before = cli("--output", "json", "--endpoint-url", endpoint, "count", name).stdout
    after = cli("count", name, "--output", "json", "--endpoint-url", endpoint).stdout
    mixed = cli("--output", "json", "count", name, "--endpoint-url", endpoint).stdout
    expected = {"name": name, "count": 0}
    assert json.loads(before) == json.loads(after) == json.loads(mixed) == expected
    # Given on both sides, the one after the command wins (a later option overrides).
    later = cli("--endpoint-url", unreachable, "count", name, "--endpoint-url", endpoint)
    assert later.stdout == "0\n"
    text = cli("--output", "json", "count", name, "--output", "text", "--endpoint-url", endpoint)
    assert text.stdout == "0\n"
    refused = cli(
        "--endpoint-url", endpoint, "count", name, "--endpoint-url", unreachable, check=False
    )
    assert refused.returncode == 1
    assert cli("--endpoint-url", endpoint, "--region", "us-east-1", "delete", name).returncode == 0


# -- dump and load: JSON Lines ----------------------------------------------------------------

ODD_BODIES = [
    "two\nlines",
    "a\ttab and a trailing newline\n",
    "emoji 🎉 and accents é",
    '{"looks": "like json"}',
    "   ",
]
ATTRIBUTES = {
    "text": {"DataType": "String", "StringValue": "line1\nline2 🎉"},
    "number": {"DataType": "Number", "StringValue": "42.5"},
    "bytes": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x00\xffbin").decode()},
    "custom": {"DataType": "String.custom", "StringValue": "v"},
}


def receive_everything(endpoint: str, url: str, expected: int) -> list[dict[str, Any]]:
    """Receive (and delete) until ``expected`` messages came, or fail at the deadline."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + DEADLINE
    while len(got) < expected:
        assert time.monotonic() < deadline, f"only {len(got)} of {expected} messages"
        status, _, body = sqs_call(
            endpoint,
            "ReceiveMessage",
            {
                "QueueUrl": url,
                "MaxNumberOfMessages": 10,
                "WaitTimeSeconds": 1,
                "MessageAttributeNames": ["All"],
                "MessageSystemAttributeNames": ["All"],
            },
        )
        assert status == 200, body
        for message in body.get("Messages", []):
            got.append(message)
            sqs_call(
                endpoint,
                "DeleteMessage",
                {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]},
            )
    return got


def send(endpoint: str, url: str, body: str, **extra: Any) -> None:
    status, _, answer = sqs_call(
        endpoint, "SendMessage", {"QueueUrl": url, "MessageBody": body, **extra}
    )
    assert status == 200, answer


def test_dump_and_load_round_trip_bodies_and_attributes(
    cli: CLI, sqs_endpoint: str, sqs_queue_name: QueueNameFactory, tmp_path: Path
) -> None:
    source, target = sqs_queue_name(), sqs_queue_name()
    source_url = cli("create", source).stdout.strip()
    target_url = cli("create", target).stdout.strip()
    for i, body in enumerate(ODD_BODIES):
        attributes = ATTRIBUTES if i % 2 == 0 else {}
        send(sqs_endpoint, source_url, body, MessageAttributes=attributes)
    dump = tmp_path / "dump.jsonl"
    assert cli("dump", source, str(dump)).stdout == f"wrote {len(ODD_BODIES)} messages to {dump}\n"
    lines = dump.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""  # every record ends with a newline
    records = [json.loads(line) for line in lines[:-1]]
    assert sorted(r["body"] for r in records) == sorted(ODD_BODIES)
    assert all(
        set(r) == {"body", "message_attributes", "group_id", "deduplication_id"} for r in records
    )
    assert cli("load", target, str(dump)).stdout == f"sent {len(ODD_BODIES)} messages\n"
    loaded = receive_everything(sqs_endpoint, target_url, len(ODD_BODIES))
    expected = sorted(
        (body, json.dumps(ATTRIBUTES if i % 2 == 0 else {}, sort_keys=True))
        for i, body in enumerate(ODD_BODIES)
    )
    got = sorted(
        (m["Body"], json.dumps(m.get("MessageAttributes", {}), sort_keys=True)) for m in loaded
    )
    assert got == expected


def test_raw_dump_and_load_keep_the_bodies_only_form(
    cli: CLI, sqs_queue_name: QueueNameFactory, tmp_path: Path
) -> None:
    source, target = sqs_queue_name(), sqs_queue_name()
    cli("create", source)
    cli("create", target)
    cli("send", source, "--lines", stdin="one\ntwo\n")
    dump = tmp_path / "bodies.txt"
    cli("dump", source, str(dump), "--raw")
    assert sorted(dump.read_text().split("\n")) == ["one", "two"]
    # An empty line (a body SQS would refuse) is skipped, not sent.
    dump.write_text("one\n\ntwo\n")
    assert cli("load", target, str(dump), "--raw").stdout == "sent 2 messages\n"
    refused = cli("load", target, str(dump), check=False)  # bare bodies are not JSON Lines
    assert refused.returncode == 1
    assert "line 1" in refused.stderr
    assert "use --raw" in refused.stderr
    assert cli("count", target).stdout == "2\n"


def fifo_queue(cli: CLI, name: str, *, content_dedup: bool = False) -> tuple[str, str]:
    attributes = ["--attribute", "ContentBasedDeduplication=true"] if content_dedup else []
    url = cli("create", name, "--fifo", *attributes).stdout.strip()
    return name + ".fifo", url


def test_fifo_dump_and_load_keep_groups_and_deduplication_ids(
    cli: CLI, sqs_endpoint: str, sqs_queue_name: QueueNameFactory, tmp_path: Path
) -> None:
    source, source_url = fifo_queue(cli, sqs_queue_name())
    target, target_url = fifo_queue(cli, sqs_queue_name())  # no content-based dedup
    sent = [("a", "a1"), ("b", "b1"), ("a", "a2"), ("a", "a3"), ("b", "b2")]
    for group, body in sent:
        send(
            sqs_endpoint,
            source_url,
            body,
            MessageGroupId=group,
            MessageDeduplicationId=f"d-{body}",
        )
    dump = tmp_path / "fifo.jsonl"
    cli("dump", source, str(dump))
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    assert {(r["group_id"], r["body"], r["deduplication_id"]) for r in records} == {
        (g, b, f"d-{b}") for g, b in sent
    }
    assert cli("load", target, str(dump)).stdout == "sent 5 messages\n"
    loaded = receive_everything(sqs_endpoint, target_url, 5)
    for group in ("a", "b"):
        in_group = [m for m in loaded if m["Attributes"]["MessageGroupId"] == group]
        assert [m["Body"] for m in in_group] == [b for g, b in sent if g == group]
    assert {m["Attributes"]["MessageDeduplicationId"] for m in loaded} == {
        f"d-{b}" for _, b in sent
    }


def test_load_into_fifo_needs_a_group_id_before_sending(
    cli: CLI, sqs_endpoint: str, sqs_queue_name: QueueNameFactory, tmp_path: Path
) -> None:
    target, url = fifo_queue(cli, sqs_queue_name(), content_dedup=True)
    bodies = tmp_path / "bodies.txt"
    bodies.write_text("first\nsecond\nthird\n")
    refused = cli("load", target, str(bodies), "--raw", check=False)
    assert refused.returncode == 1
    assert "body 1 (line 1): no group id" in refused.stderr
    assert "--group-id" in refused.stderr
    assert cli("count", target, "--all").stdout == "0\n"
    assert (
        cli("load", target, str(bodies), "--raw", "--group-id", "g").stdout == "sent 3 messages\n"
    )
    loaded = receive_everything(sqs_endpoint, url, 3)
    assert [m["Body"] for m in loaded] == ["first", "second", "third"]
    assert {m["Attributes"]["MessageGroupId"] for m in loaded} == {"g"}


def test_a_load_that_stops_says_why_and_where_to_resume(
    cli: CLI, sqs_endpoint: str, sqs_queue_name: QueueNameFactory, tmp_path: Path
) -> None:
    target, url = fifo_queue(cli, sqs_queue_name())  # needs a deduplication id per message
    lines: list[dict[str, str | None]] = [
        {"body": f"m{i}", "group_id": "g", "deduplication_id": f"d{i}"} for i in range(1, 7)
    ]
    lines[3]["deduplication_id"] = None  # line 4: the queue will refuse it
    jsonl = tmp_path / "load.jsonl"
    jsonl.write_text("".join(json.dumps(line) + "\n" for line in lines))
    failed = cli("--output", "json", "load", target, str(jsonl), check=False)
    assert failed.returncode == 1
    report = json.loads(failed.stdout)
    assert report["sent"] == 3
    assert report["resume_skip"] == 3
    assert [(f["line"], f["code"]) for f in report["failed"]] == [(4, "InvalidParameterValue")]
    assert "ContentBasedDeduplication" in report["failed"][0]["message"]  # the service's words
    assert "line 4: not sent: InvalidParameterValue:" in failed.stderr
    assert "resume with --skip 3" in failed.stderr
    # The user fixes line 4 and resumes: every message once, in order.
    lines[3]["deduplication_id"] = "d4"
    jsonl.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert cli("load", target, str(jsonl), "--skip", "3").stdout == "sent 3 messages\n"
    loaded = receive_everything(sqs_endpoint, url, 6)
    assert [m["Body"] for m in loaded] == [f"m{i}" for i in range(1, 7)]


def test_move_keeps_fifo_groups(
    cli: CLI, sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    source, source_url = fifo_queue(cli, sqs_queue_name(), content_dedup=True)
    target, target_url = fifo_queue(cli, sqs_queue_name())  # no content-based dedup
    sent = [("a", f"a{i}") for i in range(12)] + [("b", "b0"), ("a", "a12"), ("b", "b1")]
    for group, body in sent:
        send(sqs_endpoint, source_url, body, MessageGroupId=group)
    assert cli("move", source, target).stdout == f"moved {len(sent)} messages\n"
    assert cli("count", source, "--all").stdout == "0\n"
    loaded = receive_everything(sqs_endpoint, target_url, len(sent))
    for group in ("a", "b"):
        in_group = [m for m in loaded if m["Attributes"]["MessageGroupId"] == group]
        assert [m["Body"] for m in in_group] == [b for g, b in sent if g == group]


def test_move_into_fifo_takes_a_group_id(
    cli: CLI, sqs_endpoint: str, sqs_queue_name: QueueNameFactory
) -> None:
    source = sqs_queue_name()
    cli("create", source)
    cli("send", source, "only")
    target, target_url = fifo_queue(cli, sqs_queue_name())
    refused = cli("--output", "json", "move", source, target, check=False)
    assert refused.returncode == 1
    assert "not moved: MissingParameter" in refused.stderr
    assert json.loads(refused.stdout)["failed"][0]["code"] == "MissingParameter"
    assert cli("count", source).stdout == "1\n"  # refused: still in the source, visible
    assert cli("move", source, target, "--group-id", "g").stdout == "moved 1 messages\n"
    [message] = receive_everything(sqs_endpoint, target_url, 1)
    assert (message["Body"], message["Attributes"]["MessageGroupId"]) == ("only", "g")


def test_move_into_itself_is_refused_before_any_request(
    cli: CLI, sqs_queue_name: QueueNameFactory
) -> None:
    name = sqs_queue_name()
    offline = {**cli.env, "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9"}  # nothing answers
    for args in (["move", name, name], ["move", name, name + "/"]):
        result = subprocess.run(
            [sys.executable, "-m", "sqs_async", *args],
            capture_output=True,
            text=True,
            env=offline,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        assert result.stderr == f"sqs-async: error: {name} is both the source and the destination\n"
    url = cli("create", name).stdout.strip()
    by_url = cli("move", name, url, check=False)  # the same queue, named two ways
    assert by_url.returncode == 1
    assert "are the same queue" in by_url.stderr


def test_errors_in_json_carry_the_service_code(cli: CLI, sqs_queue_name: QueueNameFactory) -> None:
    result = cli("count", sqs_queue_name(), "--output", "json", check=False)
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert "does not exist" in error["message"]
    assert result.stderr.startswith("sqs-async: error:")
