"""Profile one hot path of sqs_async in a loop: CPU per operation, cProfile, or callgrind.

Layer: a developer tool beside the harness (not part of ``python -m benchmarks``). It runs one
operation N times from 64 tasks, either against a *canned* transport (every response prebuilt:
what is left is sqs_async's own work, with no sockets and no server) or against the benchmark
server on loopback (the whole client, transport included)::

    python -m benchmarks.profile send --n 20000                    # CPU µs per operation
    python -m benchmarks.profile send_batch --cprofile 25          # the top 25 functions
    python -m benchmarks.profile receive_delete --server           # through the real transport
    python -m benchmarks.profile consume --n 20000                 # µs CPU per consumed message
    valgrind --tool=callgrind python -m benchmarks.profile send --n 2000 --quiet
                                                                   # instruction counts

``consume`` runs ``queue.consumer(handler, concurrency=64)`` with a no-op handler (as the
benchmark's consume scenario does) until the handler has seen N messages after a warm-up, then
stops it; the canned transport answers every receive with 10 messages of fresh receipt handles.

On a shared, noisy machine decide on instruction counts (callgrind's ``Ir``, deterministic:
run with ``--n 0`` and with ``--n N`` and divide the difference by N), then confirm with the
benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import pstats
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from benchmarks.clients import BODY, KEY_ID, REGION, SECRET

URL = "http://127.0.0.1:9/000000000000/profile"
_MD5 = hashlib.md5(BODY.encode()).hexdigest()
_HEADERS = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "r"}


def _canned() -> dict[str, bytes]:
    """A realistic response body per operation (what the benchmark server answers)."""
    messages = [
        {
            "MessageId": f"5fea7756-0ea4-451a-a703-a558b933e27{i}",
            "ReceiptHandle": f"AQEB{i:04d}" + "x" * 150,
            "MD5OfBody": _MD5,
            "Body": BODY,
        }
        for i in range(10)
    ]
    return {
        "SendMessage": orjson.dumps(
            {"MessageId": "5fea7756-0ea4-451a-a703-a558b933e271", "MD5OfMessageBody": _MD5}
        ),
        "SendMessageBatch": orjson.dumps(
            {
                "Successful": [
                    {
                        "Id": str(i),
                        "MessageId": f"5fea7756-0ea4-451a-a703-a558b933e27{i}",
                        "MD5OfMessageBody": _MD5,
                    }
                    for i in range(10)
                ]
            }
        ),
        "ReceiveMessage": orjson.dumps({"Messages": messages}),
        "DeleteMessageBatch": orjson.dumps({"Successful": [{"Id": str(i)} for i in range(10)]}),
        "CreateQueue": orjson.dumps({"QueueUrl": URL}),
        "GetQueueAttributes": orjson.dumps({"Attributes": {"VisibilityTimeout": "30"}}),
    }


def _batch_answers() -> list[bytes]:
    """DeleteMessageBatch / ChangeMessageVisibilityBatch answers, by entry count."""
    return [orjson.dumps({"Successful": [{"Id": str(i)} for i in range(n)]}) for n in range(11)]


class CannedTransport:
    """Answers every request at once with the prebuilt response of its operation.

    Args:
        unique: Give every received message a receipt handle of its own (a consumer tracks
            its leases by receipt handle), and answer batch calls entry for entry.
    """

    def __init__(self, *, unique: bool = False) -> None:
        from sqs_async._transport.base import Response

        self._response = Response
        self.responses = {
            f"AmazonSQS.{op}": Response(200, _HEADERS, body) for op, body in _canned().items()
        }
        self._unique = unique
        self._batches = [Response(200, _HEADERS, body) for body in _batch_answers()]
        # the receive answer split around its receipt handles' serial numbers
        self._receive_parts = _canned()["ReceiveMessage"].split(b"AQEB")
        self._serial = 0

    async def request(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        read_timeout: float,
        long_poll: bool = False,
    ) -> Any:
        target = headers["X-Amz-Target"]
        if self._unique:
            if target == "AmazonSQS.ReceiveMessage":
                return self._receive()
            if target.endswith("Batch") and target != "AmazonSQS.SendMessageBatch":
                return self._batches[body.count(b'"ReceiptHandle"')]
        return self.responses[target]

    def _receive(self) -> Any:
        self._serial += 1
        prefix = b"AQEB%08d" % self._serial
        parts = self._receive_parts
        return self._response(200, _HEADERS, parts[0] + b"".join(prefix + p for p in parts[1:]))

    async def aclose(self) -> None:
        return None


def _operation(queue: Any, name: str) -> Callable[[], Awaitable[int]]:
    async def send() -> int:
        await queue.write(queue.new_message(BODY))
        return 1

    async def send_batch() -> int:
        await queue.write_batch([queue.new_message(BODY) for _ in range(10)])
        return 10

    async def receive_delete() -> int:
        messages = await queue.get_messages(10, wait_time_seconds=0, attributes=[])
        await queue.delete_message_batch(messages)
        return len(messages)

    return {"send": send, "send_batch": send_batch, "receive_delete": receive_delete}[name]


async def run(name: str, n: int, endpoint: str | None, profile: cProfile.Profile | None) -> float:
    """CPU seconds per operation over ``n`` operations from 64 tasks (after a warm-up)."""
    import sqs_async

    kwargs: dict[str, Any] = {
        "region": REGION,
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
        "max_connections": 64,
    }
    if endpoint is None:
        kwargs.update(endpoint_url="http://127.0.0.1:9", transport=CannedTransport())
    else:
        kwargs["endpoint_url"] = endpoint
    async with sqs_async.connect_sqs(**kwargs) as conn:
        queue = await conn.create_queue("profile")
        op = _operation(queue, name)
        left = 64 if endpoint is not None else 0

        async def worker(count: list[int]) -> None:
            while count[0] > 0:
                count[0] -= 1
                await op()

        await asyncio.gather(*(worker([1]) for _ in range(left)))  # opens every connection
        remaining = [n]
        cpu = time.process_time()
        if profile is not None:
            profile.enable()
        await asyncio.gather(*(worker(remaining) for _ in range(64)))
        if profile is not None:
            profile.disable()
        return (time.process_time() - cpu) / max(n, 1)


async def run_consume(
    n: int, endpoint: str | None, profile: cProfile.Profile | None, warm: int = 640
) -> float:
    """CPU seconds per message of ``queue.consumer(no-op, concurrency=64)``: the clock runs
    from the handler's ``warm``-th message to its ``warm + n``-th; then it stops."""
    import sqs_async

    kwargs: dict[str, Any] = {
        "region": REGION,
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
        "max_connections": 64,
    }
    if endpoint is None:
        kwargs.update(endpoint_url="http://127.0.0.1:9", transport=CannedTransport(unique=True))
    else:
        kwargs["endpoint_url"] = endpoint
    async with sqs_async.connect_sqs(**kwargs) as conn:
        queue = await conn.create_queue("profile")
        done = asyncio.Event()
        handled = 0
        clock = [0.0, 0.0]
        end = warm + n

        async def handler(message: Any) -> None:
            nonlocal handled
            handled += 1
            if handled == warm:
                clock[0] = time.process_time()
                if profile is not None:
                    profile.enable()
            if handled == end:
                clock[1] = time.process_time()
                if profile is not None:
                    profile.disable()
                done.set()

        consumer = queue.consumer(handler, concurrency=64, wait_time_seconds=1)
        task = asyncio.create_task(consumer.run())
        await done.wait()
        consumer.stop()
        await task
        return (clock[1] - clock[0]) / max(n, 1)


def _fill(endpoint: str, count: int) -> None:
    from benchmarks.admin import Admin

    port = int(endpoint.rpartition(":")[2])
    admin = Admin(port)
    admin.fill("profile", count, BODY)
    admin.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("operation", choices=("send", "send_batch", "receive_delete", "consume"))
    parser.add_argument("--n", type=int, default=10_000, help="operations to time")
    parser.add_argument("--server", action="store_true", help="through the benchmark server")
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--cprofile", type=int, default=0, metavar="TOP", help="print the top")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    profile = cProfile.Profile() if args.cprofile else None
    server = None
    endpoint = None
    if args.server:
        server = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server", "--port", "0", "--cpu", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        endpoint = f"http://127.0.0.1:{int(server.stdout.readline().split()[1])}"
        if args.operation == "receive_delete":
            _fill(endpoint, (args.n + 64) * 10)
        elif args.operation == "consume":
            _fill(endpoint, args.n + 2000)
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if args.uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            if args.operation == "consume":
                per_op = runner.run(run_consume(args.n, endpoint, profile))
            else:
                per_op = runner.run(run(args.operation, args.n, endpoint, profile))
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
    if not args.quiet:
        where = "benchmark server" if args.server else "canned transport"
        unit = "message" if args.operation == "consume" else "operation"
        print(f"{args.operation}: {per_op * 1e6:.1f} µs CPU per {unit} ({where}, n={args.n})")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
