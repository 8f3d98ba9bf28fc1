"""The benchmarks' machinery: the local server's SQS semantics and a smoke run of the harness.

No timing assertions: these check that the server answers like SQS (checked with boto3 and
with raw query-protocol requests, MD5s computed here independently), that the signed-socket
floor signs like botocore and checks every MD5, and that ``python -m benchmarks --smoke``
produces its three outputs with the expected shape.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import importlib.util
import json
import math
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIENT_MODULES = {
    "sqs_async": "sqs_async",
    "aiobotocore": "aiobotocore",
    "boto3": "boto3",
    "aiosqs": "aiosqs",
    "raw-aiohttp": "aiohttp",
    "raw-socket": "orjson",
    "raw-signed-socket": "orjson",
}
# Rows that are n/a by design: aiosqs has no SendMessageBatch; the signed-socket floor imports
# what the socket floor does, whose start-up row is the yardstick.
NOT_APPLICABLE = {("send_batch", "aiosqs"), ("startup", "raw-signed-socket")}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _clients() -> Any:
    """benchmarks.clients, imported at run time: the benchmarks are outside mypy's files (the
    peers they import have no type stubs)."""
    return importlib.import_module("benchmarks.clients")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", "--port", "0", "--max-seconds", "120"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY "), line
    try:
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def _attribute_md5(attributes: dict[str, dict[str, Any]]) -> str:
    """The AWS algorithm, written here independently of the server's code."""
    out = b""
    for name in sorted(attributes):
        value = attributes[name]
        out += struct.pack(">I", len(name.encode())) + name.encode()
        out += struct.pack(">I", len(value["DataType"].encode())) + value["DataType"].encode()
        if "StringValue" in value:
            raw = value["StringValue"].encode()
            out += b"\x01" + struct.pack(">I", len(raw)) + raw
        else:
            raw = value["BinaryValue"]
            out += b"\x02" + struct.pack(">I", len(raw)) + raw
    return hashlib.md5(out).hexdigest()


def test_server_speaks_sqs_json_protocol(endpoint: str) -> None:
    boto3 = pytest.importorskip("boto3")
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    try:
        url = sqs.create_queue(QueueName="semantics")["QueueUrl"]
        assert sqs.get_queue_url(QueueName="semantics")["QueueUrl"] == url
        attributes: dict[str, dict[str, Any]] = {
            "s": {"DataType": "String", "StringValue": "välue"},
            "n": {"DataType": "Number.int", "StringValue": "42"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        }
        body = "héllo ✓"
        sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
        assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
        assert sent["MD5OfMessageAttributes"] == _attribute_md5(attributes)

        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=1,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        )["Messages"]
        assert len(got) == 1
        message = got[0]
        assert message["Body"] == body
        assert message["MessageId"] == sent["MessageId"]
        assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
        assert message["MD5OfMessageAttributes"] == _attribute_md5(message["MessageAttributes"])
        assert message["MessageAttributes"] == attributes
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"

        # In flight: invisible until the visibility timeout ends, then received again.
        assert "Messages" not in sqs.receive_message(QueueUrl=url)
        time.sleep(1.1)
        again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])
        assert again["Messages"][0]["Attributes"]["ApproximateReceiveCount"] == "2"
        handle = again["Messages"][0]["ReceiptHandle"]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
        third = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert counts["ApproximateNumberOfMessages"] == "0"
        assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"

        entries = [{"Id": f"e{i}", "MessageBody": f"body {i}"} for i in range(10)]
        batch = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert sorted(e["Id"] for e in batch["Successful"]) == sorted(e["Id"] for e in entries)
        for entry in batch["Successful"]:
            i = int(entry["Id"][1:])
            assert entry["MD5OfMessageBody"] == hashlib.md5(f"body {i}".encode()).hexdigest()
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert len(received) == 10
        deleted = sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)
            ],
        )
        assert len(deleted["Successful"]) == 10
        assert not deleted.get("Failed")

        # Long polling returns as soon as a delayed message becomes visible.
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
        started = time.monotonic()
        late = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
        assert late[0]["Body"] == "later"
        assert 0.8 < time.monotonic() - started < 4

        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            sqs.get_queue_url(QueueName="missing")
        with pytest.raises(sqs.exceptions.ClientError, match="EmptyBatchRequest"):
            sqs.send_message_batch(QueueUrl=url, Entries=[])
        with pytest.raises(sqs.exceptions.ClientError, match="ReceiptHandleIsInvalid"):
            sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
        sqs.purge_queue(QueueUrl=url)
    finally:
        sqs.close()


def _query(endpoint: str, params: dict[str, str]) -> ET.Element:
    url = f"{endpoint}/?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        return ET.fromstring(response.read())


def test_server_speaks_query_protocol(endpoint: str) -> None:
    """What aiosqs uses: form parameters by GET, XML answers."""
    created = _query(endpoint, {"Action": "CreateQueue", "QueueName": "query"})
    url = created.findtext(".//QueueUrl")
    assert url is not None
    assert url.endswith("/query")
    body = "a & <b>"
    sent = _query(endpoint, {"Action": "SendMessage", "QueueUrl": url, "MessageBody": body})
    assert sent.findtext(".//MD5OfMessageBody") == hashlib.md5(body.encode()).hexdigest()
    got = _query(
        endpoint,
        {
            "Action": "ReceiveMessage",
            "QueueUrl": url,
            "MaxNumberOfMessages": "10",
            "AttributeName.1": "All",
        },
    )
    messages = got.findall(".//Message")
    assert len(messages) == 1
    assert messages[0].findtext("Body") == body
    names = {a.findtext("Name") for a in messages[0].findall("Attribute")}
    assert "ApproximateReceiveCount" in names
    handle = messages[0].findtext("ReceiptHandle")
    assert handle is not None
    _query(endpoint, {"Action": "DeleteMessage", "QueueUrl": url, "ReceiptHandle": handle})
    attrs = _query(
        endpoint, {"Action": "GetQueueAttributes", "QueueUrl": url, "AttributeName.1": "All"}
    )
    values = {a.findtext("Name"): a.findtext("Value") for a in attrs.findall(".//Attribute")}
    assert values["ApproximateNumberOfMessages"] == "0"
    assert values["ApproximateNumberOfMessagesNotVisible"] == "0"
    with pytest.raises(urllib.error.HTTPError) as raised:
        _query(endpoint, {"Action": "GetQueueUrl", "QueueName": "missing"})
    error = ET.fromstring(raised.value.read())
    raised.value.close()
    assert error.findtext(".//{*}Code") == "AWS.SimpleQueueService.NonExistentQueue"


def test_binary_attribute_md5_matches_base64_wire_form(endpoint: str) -> None:
    """JSON carries BinaryValue as base64; the digest is over the decoded bytes."""
    raw = b"\x01\x02\x03"
    request = urllib.request.Request(
        endpoint,
        data=json.dumps({"QueueName": "binary"}).encode(),
        headers={
            "X-Amz-Target": "AmazonSQS.CreateQueue",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        url = json.loads(response.read())["QueueUrl"]
    attrs = {"bin": {"DataType": "Binary", "BinaryValue": base64.b64encode(raw).decode()}}
    request = urllib.request.Request(
        endpoint,
        data=json.dumps({"QueueUrl": url, "MessageBody": "x", "MessageAttributes": attrs}).encode(),
        headers={
            "X-Amz-Target": "AmazonSQS.SendMessage",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        sent = json.loads(response.read())
    assert sent["MD5OfMessageAttributes"] == _attribute_md5(
        {"bin": {"DataType": "Binary", "BinaryValue": raw}}
    )


def _parse_request(raw: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *lines = head.decode().split("\r\n")
    assert request_line == "POST / HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines)
    assert int(headers["Content-Length"]) == len(body)
    return headers, body


def test_signed_floor_signs_like_botocore() -> None:
    """The signed-socket floor's SigV4 is byte for byte botocore's, across seconds and days
    (its timestamp and signing key are cached per second and per day)."""
    orjson = pytest.importorskip("orjson")
    auth = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    clients = _clients()
    adapter = clients.RawSignedSocketAdapter("http://127.0.0.1:4567", 1)
    message_body = clients.BODY
    url = "http://127.0.0.1:4567/000000000000/q"
    requests: list[tuple[str, dict[str, Any]]] = [
        ("SendMessage", {"QueueUrl": url, "MessageBody": message_body}),
        ("SendMessage", {"QueueUrl": url, "MessageBody": "another body ✓"}),
        (
            "SendMessageBatch",
            {"QueueUrl": url, "Entries": [{"Id": "0", "MessageBody": message_body}]},
        ),
        ("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
        ("DeleteMessageBatch", {"QueueUrl": url, "Entries": [{"Id": "0", "ReceiptHandle": "h"}]}),
    ]
    midnight = 1_764_892_800.0  # 2025-12-05T00:00:00Z
    for now in (midnight - 1.5, midnight - 0.6, midnight - 0.1, midnight + 0.2, midnight + 86_401):
        for operation, params in requests:
            headers, body = _parse_request(adapter._request(operation, params, now=now))
            assert body == orjson.dumps(params)
            assert headers["Host"] == "127.0.0.1:4567"
            assert headers["X-Amz-Target"] == f"AmazonSQS.{operation}"
            theirs = AWSRequest(
                method="POST",
                url="http://127.0.0.1:4567/",
                data=body,
                headers={
                    "Content-Type": headers["Content-Type"],
                    "X-Amz-Target": headers["X-Amz-Target"],
                },
            )
            frozen = dt.datetime.fromtimestamp(math.floor(now), dt.UTC).replace(tzinfo=None)
            with mock.patch.object(auth, "get_current_datetime", return_value=frozen):
                credentials = Credentials(clients.KEY_ID, clients.SECRET)
                auth.SigV4Auth(credentials, "sqs", clients.REGION).add_auth(theirs)
            assert headers["X-Amz-Date"] == theirs.headers["X-Amz-Date"]
            assert headers["Authorization"] == theirs.headers["Authorization"]


def test_signed_floor_checks_every_md5(monkeypatch: pytest.MonkeyPatch) -> None:
    """It raises on a wrong MD5 of a sent or received body, or a failed batch entry."""
    orjson = pytest.importorskip("orjson")
    clients = _clients()
    adapter = clients.RawSignedSocketAdapter("http://127.0.0.1:4567", 1)
    message_body = clients.BODY
    adapter.queue_url = "http://127.0.0.1:4567/000000000000/q"
    good, bad = hashlib.md5(message_body.encode()).hexdigest(), hashlib.md5(b"other").hexdigest()
    answers: list[dict[str, Any]] = []
    sent: list[bytes] = []

    async def post(request: bytes) -> bytes:
        sent.append(request)
        return bytes(orjson.dumps(answers.pop(0)))

    monkeypatch.setattr(adapter, "_post", post)

    def entries(md5s: list[str]) -> list[dict[str, str]]:
        return [{"Id": str(i), "MessageId": "m", "MD5OfMessageBody": m} for i, m in enumerate(md5s)]

    def message(md5: str) -> dict[str, str]:
        return {"MessageId": "m", "ReceiptHandle": "h", "Body": message_body, "MD5OfBody": md5}

    async def scenario() -> None:
        answers.append({"MessageId": "m", "MD5OfMessageBody": good})
        assert await adapter.send() == 1
        answers.append({"MessageId": "m", "MD5OfMessageBody": bad})
        with pytest.raises(RuntimeError, match="MD5 mismatch"):
            await adapter.send()
        answers.append({"Successful": entries([good] * 10), "Failed": []})
        assert await adapter.send_batch() == 10
        answers.append({"Successful": entries([good] * 9 + [bad]), "Failed": []})
        with pytest.raises(RuntimeError, match="MD5 mismatch"):
            await adapter.send_batch()
        failed = [{"Id": "9", "Code": "X", "SenderFault": True}]
        answers.append({"Successful": entries([good] * 9), "Failed": failed})
        with pytest.raises(RuntimeError, match="failed entries"):
            await adapter.send_batch()
        answers.append({"Messages": [message(good), message(good)]})
        received = await adapter.receive(0)
        assert len(received) == 2
        answers.append({"Messages": [message(good), message(bad)]})
        with pytest.raises(RuntimeError, match="MD5 mismatch"):
            await adapter.receive(0)
        answers.append({"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []})
        await adapter.delete_batch(received)
        answers.append({"Successful": [{"Id": "0"}], "Failed": [{"Id": "1", "Code": "X"}]})
        with pytest.raises(RuntimeError, match="failed entries"):
            await adapter.delete_batch(received)

    asyncio.run(scenario())
    assert not answers
    # The delete entries are built from the received receipt handles.
    _, body = _parse_request(sent[-1])
    assert orjson.loads(body)["Entries"] == [
        {"Id": "0", "ReceiptHandle": "h"},
        {"Id": "1", "ReceiptHandle": "h"},
    ]


def test_smoke_run_produces_json_markdown_and_png(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    summary = json.loads((out / "results.json").read_text())
    assert set(summary) >= {"meta", "load", "startup", "rss", "cli", "runs", "targets"}
    meta = summary["meta"]
    assert meta["mode"]["name"] == "smoke"
    if meta["server_cpu"] is not None:  # two cores or more: server and clients kept apart
        assert meta["server_affinity"] == [meta["server_cpu"]]
        assert meta["client_affinity"] == [meta["client_cpu"]]
        assert meta["server_cpu"] != meta["client_cpu"]
    uvloop_installed = _installed("uvloop")
    scenarios = {"send", "send_batch", "receive_delete", "consume", "batch_writer"}
    assert {row["scenario"] for row in summary["load"]} == scenarios
    for section in ("load", "startup", "rss"):
        clients = {row["client"] for row in summary[section]}
        assert clients == set(CLIENT_MODULES), section
        for row in summary[section]:
            assert row["status"] in ("ok", "n/a"), row
            installed = _installed(CLIENT_MODULES[row["client"]])
            if row["loop"] == "uvloop" and not uvloop_installed:
                assert row["status"] == "n/a", row
            elif not installed or (row["scenario"], row["client"]) in NOT_APPLICABLE:
                assert row["status"] == "n/a", row
                assert row["reason"], row
            elif row["client"] != "sqs_async":  # sqs_async may still lack a feature: n/a
                assert row["status"] == "ok", row
            if row["status"] == "ok":
                assert row["metrics"], row
                assert all(set(v) == {"median", "min", "max"} for v in row["metrics"].values())
    ratios = {"vs_socket", "vs_signed", "vs_aiohttp", "vs_aiobotocore"}
    for row in summary["load"]:
        extra = (
            {"msg_per_s_vs_socket", "msg_per_s_vs_signed"}
            if row["scenario"] == "consume"
            else set()
        )
        assert set(row["ratios"]) == ratios | extra
        if row["status"] == "ok":
            assert {"cpu_us_per_msg", "req_per_s", "msg_per_s", "server_cpu_us_per_req"} <= set(
                row["metrics"]
            )
            if row["client"] == "sqs_async" and row["scenario"] != "batch_writer":
                assert row["ratios"]["vs_socket"] is not None, row  # the socket floor ran
                assert row["ratios"]["vs_signed"] is not None, row  # and the signed floor
    # Both socket floors ran every scenario: the server accepted the signed floor's requests
    # end to end (its MD5 checks passed, its batch entries did not fail).
    for floor, ratio in (("raw-socket", "vs_socket"), ("raw-signed-socket", "vs_signed")):
        floor_rows = [r for r in summary["load"] if r["client"] == floor]
        assert {r["scenario"] for r in floor_rows if r["status"] == "ok"} == scenarios, floor
        for row in floor_rows:
            if row["status"] == "ok":
                assert row["metrics"]["msg_per_s"]["median"] > 0
                assert row["ratios"][ratio] == pytest.approx(1.0)
    # The import yardstick: the socket floor imports the stdlib modules sqs_async needs.
    startup = {row["client"]: row for row in summary["startup"]}
    assert startup["sqs_async"]["ratios"]["import_vs_stdlib"] > 0
    # The command-line measure: sqs-async count and boto3's one-liner answer the same count.
    cli = {row["client"]: row for row in summary["cli"]}
    assert {"sqs_async", "boto3"} <= set(cli)
    assert cli["sqs_async"]["status"] == "ok", cli["sqs_async"]
    assert cli["boto3"]["status"] == "ok" or not _installed("boto3"), cli["boto3"]
    targets = {t["ratio"] for t in summary["targets"]}
    assert {"vs_socket", "msg_per_s_vs_socket", "vs_aiobotocore", "import_vs_stdlib"} <= targets
    # The signed floor's own ratios to the socket floor, as references beside the targets.
    references = [t for t in summary["targets"] if t.get("reference")]
    assert len(references) == 4
    for reference in references:
        assert reference["client"] == "raw-signed-socket"
        assert reference["met"] is None
        assert reference["values"]["asyncio"] > 0, reference

    markdown = (out / "results.md").read_text()
    assert "| client | loop | client CPU µs/msg" in markdown
    assert "|---|" in markdown
    assert "## Start-up" in markdown
    assert "n/a (not available: aiosqs has no SendMessageBatch)" in markdown or not _installed(
        "aiosqs"
    )
    assert "| vs socket floor | vs signed floor | vs aiohttp floor | vs aiobotocore |" in markdown
    assert "| signed floor: SendMessage (the least any correct client can reach) |" in markdown
    assert "## Targets" in markdown
    assert "## A command-line call" in markdown
    assert markdown.strip() in done.stdout

    if _installed("matplotlib"):  # the chart is matplotlib's (the "bench" extra)
        png = (out / "results.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png) > 1000
    else:
        assert not (out / "results.png").exists()
        assert "matplotlib" in done.stderr
