"""The ``sqs-async`` command, driven as a subprocess against the local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from compat import (
    FAUXQS_ONE_PER_GROUP,
    LOCAL_COUNTS_IN_FLIGHT,
    LOCAL_LISTS_DELETED_QUEUES,
    known_divergent,
)

from sqs_async._cli import Progress
from sqs_async.local import QueueNameFactory

pytestmark = pytest.mark.integration


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
