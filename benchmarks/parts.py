"""What each target of issue 13 leaves to a library, against what its unavoidable parts cost.

Layer: a developer tool beside the harness (not part of ``python -m benchmarks``); it reads a
full run's ``results.json`` and times a few pieces of sqs_async in isolation::

    python -m benchmarks.parts                                  # benchmarks/results/results.json
    python -m benchmarks.parts --results /tmp/bench/results.json --n 20000

For each CPU target it prints the **budget**: the CPU per operation the target allows (the
socket floor's, times the target ratio) minus what the signed-socket floor spends (the work
no correct client can skip). What a library does beyond the signed floor must fit in it.
Beside it, the **parts**: pieces that a client with sqs_async's API and an HTTP parser cannot
leave out, each timed on its own and net of what the signed floor already does for the same
job (its Content-Length framing, its header join):

* reading the response head: status line, every header checked and named, framing decided
  (the signed floor finds ``Content-Length`` and trusts the rest);
* writing the request head with its checks (no line break or non-latin-1 character in a
  header: the signed floor joins trusted strings);
* message objects: one per message sent (``queue.new_message``) or received
  (``Message.from_wires``), and one ``SuccessfulEntry`` per batch entry of a result.

The pool, timeouts, retries, futures and validation are *not* counted: the parts are a lower
bound. When the parts alone exceed the budget, the target is out of reach for this API on
this interpreter whatever the rest costs. For consume() the comparison is direct: its CPU per
message must stay under the socket-floor loop's divided by 0.8 on the one client core, and
sqs_async's bare receive+delete calls are set beside that.

Times are the best of 5 repetitions, so they are the parts' least costs on this machine; the
benchmark's CPU medians come from another moment, and the machine's speed moves between
runs (see benchmarks/README.md): read the budget and the parts as sizes, not to the tenth.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.clients import BODY, _request_bytes, presign

RESULTS = Path(__file__).with_name("results") / "results.json"
HOST = "127.0.0.1:4566"
_SEND_ANSWER = (
    b"HTTP/1.1 200 OK\r\n"
    b"x-amzn-RequestId: 5fea7756-0ea4-451a-a703-a558b933e271\r\n"
    b"Content-Type: application/x-amz-json-1.0\r\n"
    b"Date: Sat, 05 Dec 2026 12:00:00 GMT\r\n"
    b"Content-Length: 110\r\n\r\n" + b"x" * 110
)


def best_ns(work: Callable[[], object], n: int, repeats: int = 5) -> float:
    """The least time of one call of ``work``, in ns (best of ``repeats`` loops of ``n``)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(n):
            work()
        best = min(best, (time.perf_counter_ns() - start) / n)
    return best


def part_costs(n: int) -> dict[str, float]:
    """µs per call of each part, net of the signed floor's own way of doing the same job."""
    from sqs_async import Message
    from sqs_async._batch_calls import SuccessfulEntry
    from sqs_async._transport.base import encode_head
    from sqs_async._transport.h11parse import ResponseParser

    parser = ResponseParser()

    def parse() -> object:
        parser.reset()
        return parser.feed(_SEND_ANSWER)

    def frame() -> object:  # the signed floor's framing (benchmarks.clients._FloorConnection)
        data = _SEND_ANSWER
        end = data.find(b"\r\n\r\n")
        at = data.find(b"Content-Length: ", 0, end)
        length = int(data[at + 16 : data.find(b"\r", at)])
        return data[end + 4 : end + 4 + length], data[9:12] == b"200"

    body = b'{"QueueUrl": "q"}'
    headers = presign(body, "AmazonSQS.SendMessage", HOST)
    ours = {**headers, "Host": HOST, "User-Agent": "sqs-async/0.1.0"}  # as Client._signed adds
    prefix = b"POST / HTTP/1.1\r\n"

    def encode() -> object:  # as sqs_async's transport builds a request (Http11Transport)
        return prefix + encode_head(ours, len(body)) + body

    def join() -> object:  # as the floors build one
        return _request_bytes(HOST, headers, body)

    class _Queue:  # what new_message needs of a queue
        message_class = Message

    from sqs_async._queue import Queue

    queue: Any = _Queue()
    new_message = Queue.new_message
    wires = [
        {
            "MessageId": f"5fea7756-0ea4-451a-a703-a558b933e27{i}",
            "ReceiptHandle": f"AQEB{i:04d}" + "x" * 150,
            "MD5OfBody": "0" * 32,
            "Body": BODY,
        }
        for i in range(10)
    ]
    message = Message(BODY)
    return {
        "response head": (best_ns(parse, n) - best_ns(frame, n)) / 1000,
        "request head": (best_ns(encode, n) - best_ns(join, n)) / 1000,
        "new_message": best_ns(lambda: new_message(queue, BODY), n) / 1000,
        "from_wires(10)": best_ns(lambda: Message.from_wires(wires), n // 10) / 1000,
        "SuccessfulEntry": best_ns(lambda: SuccessfulEntry(message, "id", "md5"), n) / 1000,
    }


def medians(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, float]]:
    """Median CPU µs per message and msg/s per (scenario, client) on asyncio, as the run's
    summary (``benchmarks.report.summarize``) computed them."""
    return {
        (row["scenario"], row["client"]): {
            "cpu_us": row["metrics"]["cpu_us_per_msg"]["median"],
            "msg_s": row["metrics"]["msg_per_s"]["median"],
        }
        for row in results["load"]
        if row["loop"] == "asyncio" and row["status"] == "ok"
    }


# scenario, target ratio, messages per operation, the parts it needs (a count of each)
_TARGETS = (
    ("send", 1.5, 1, {"response head": 1, "request head": 1, "new_message": 1}),
    (
        "send_batch",
        2.0,
        10,
        {"response head": 1, "request head": 1, "new_message": 10, "SuccessfulEntry": 10},
    ),
    ("receive_delete", 1.5, 10, {"response head": 2, "request head": 2, "from_wires(10)": 1}),
)


def report(results: dict[str, Any], parts: dict[str, float]) -> str:
    cells = medians(results)
    lines = [
        f"results: {results['meta']['started']} (load {results['meta']['load_average_start']})",
        "",
        "| part | µs per call, beyond the signed floor's |",
        "|---|---|",
        *(f"| {name} | {cost:.2f} |" for name, cost in parts.items()),
        "",
        "| target | socket floor µs/op | allowed µs/op | signed floor µs/op | budget µs/op "
        "| parts µs/op | sqs_async µs/op | sqs_async beyond the signed floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scenario, ratio, per_op, needed in _TARGETS:
        floor = cells[(scenario, "raw-socket")]["cpu_us"] * per_op
        signed = cells[(scenario, "raw-signed-socket")]["cpu_us"] * per_op
        ours = cells[(scenario, "sqs_async")]["cpu_us"] * per_op
        allowed = floor * ratio
        need = sum(parts[name] * count for name, count in needed.items())
        lines.append(
            f"| {scenario} ≤ {ratio}x | {floor:.1f} | {allowed:.1f} | {signed:.1f} "
            f"| {allowed - signed:.1f} | {need:.1f} | {ours:.1f} | {ours - signed:.1f} |"
        )
    loop = cells[("consume", "raw-socket")]
    consume = cells[("consume", "sqs_async")]
    bare = cells[("receive_delete", "sqs_async")]
    ceiling = 1e6 / (0.8 * loop["msg_s"])  # µs of client CPU per message at 0.8x, one core
    lines += [
        "",
        f"consume ≥ 0.8x: the floor loop's {loop['msg_s']:,.0f} msg/s x 0.8 leaves at most "
        f"{ceiling:.2f} µs of client CPU per message on one core; sqs_async's bare "
        f"receive+delete calls spend {bare['cpu_us']:.2f}, consume() {consume['cpu_us']:.2f}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.parts", description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS, help="a full run's JSON")
    parser.add_argument("--n", type=int, default=20_000, help="calls per timed loop")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    print(report(results, part_costs(args.n)))


if __name__ == "__main__":
    main()
