"""Profile one hot path of sqs_async in a loop: CPU per operation, cProfile, or callgrind.

Layer: a developer tool beside the harness (not part of ``python -m benchmarks``). It runs one
operation N times from 64 tasks, either against a *canned* transport (every response prebuilt:
what is left is sqs_async's own work, with no sockets and no server) or against the benchmark
server on loopback (the whole client, transport included)::

    python -m benchmarks.profile send --n 20000                    # CPU µs per operation
    python -m benchmarks.profile send_batch --cprofile 25          # the top 25 functions
    python -m benchmarks.profile receive_delete --server           # through the real transport
    valgrind --tool=callgrind python -m benchmarks.profile send --n 2000 --quiet
                                                                   # instruction counts

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
    }


class CannedTransport:
    """Answers every request at once with the prebuilt response of its operation."""

    def __init__(self) -> None:
        from sqs_async._transport.base import Response

        self.responses = {
            f"AmazonSQS.{op}": Response(200, _HEADERS, body) for op, body in _canned().items()
        }

    async def request(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        read_timeout: float,
        long_poll: bool = False,
    ) -> Any:
        return self.responses[headers["X-Amz-Target"]]

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


def _fill(endpoint: str, count: int) -> None:
    from benchmarks.admin import Admin

    port = int(endpoint.rpartition(":")[2])
    admin = Admin(port)
    admin.fill("profile", count, BODY)
    admin.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("operation", choices=("send", "send_batch", "receive_delete"))
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
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if args.uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            per_op = runner.run(run(args.operation, args.n, endpoint, profile))
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
    if not args.quiet:
        where = "benchmark server" if args.server else "canned transport"
        print(f"{args.operation}: {per_op * 1e6:.1f} µs CPU per operation ({where}, n={args.n})")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
