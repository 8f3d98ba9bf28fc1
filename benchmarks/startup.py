"""Import time and time-to-first-response, measured in a fresh interpreter per client.

Layer: started by `benchmarks.harness` as ``python -m benchmarks.startup CLIENT PORT QUEUE [CPU]``;
prints one JSON line. Only the standard library is imported before the clock starts (the
`benchmarks` package itself imports nothing), so ``import_s`` is what ``import X`` costs a
program that has not imported asyncio or aiohttp yet.

* ``import_s``: wall time of importing the client (sqs_async / aiobotocore.session / boto3 /
  aiosqs / aiohttp), including asyncio where the client needs it. The raw-socket floor imports
  `STDLIB_NEEDS`, the standard-library modules sqs_async cannot do without (the event loop,
  TLS, JSON, hashes): its import time is the yardstick of ``import sqs_async``.
* ``import_ready_s``: the import plus resolving the entry point (``sqs_async.connect_sqs``,
  which sqs_async imports on first use; the same as ``import_s`` for the others).
* ``first_response_cold_s``: the first ever client in the process, from creating it
  (``connect_sqs()``, ``get_session().create_client()``, ``boto3.client()``...) to the first
  response (GetQueueUrl); loads service models, opens the connection.
* ``first_response_warm_s``: the same again with a new client in the same process.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

STDLIB_NEEDS = ("asyncio", "ssl", "json", "hashlib")
IMPORTS: dict[str, tuple[str, ...]] = {
    "sqs_async": ("sqs_async",),
    "aiobotocore": ("aiobotocore.session",),
    "boto3": ("boto3",),
    "aiosqs": ("aiosqs",),
    "raw-aiohttp": ("aiohttp",),
    "raw-socket": STDLIB_NEEDS,
}
ENTRY_POINTS = {"sqs_async": "connect_sqs"}


async def first_response(client: str, endpoint: str, queue: str) -> None:
    """Create a client and get one response; the client is closed outside the clock."""
    from benchmarks.clients import KEY_ID, REGION, SECRET, presign

    if client == "sqs_async":
        import sqs_async

        if not hasattr(sqs_async, "connect_sqs"):
            raise NotImplementedError("sqs_async.connect_sqs is not implemented yet")
        async with sqs_async.connect_sqs(
            endpoint_url=endpoint,
            region=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        ) as conn:
            await conn.get_queue(queue)
    elif client == "aiobotocore":
        from aiobotocore.session import get_session

        async with get_session().create_client(
            "sqs",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        ) as sqs:
            await sqs.get_queue_url(QueueName=queue)
    elif client == "aiosqs":
        from aiosqs import SQSClient

        aiosqs = SQSClient(
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            host=endpoint.removeprefix("http://"),
        )
        aiosqs.endpoint_url = endpoint  # it always builds https:// URLs
        try:
            await aiosqs.get_queue_url(queue)
        finally:
            await aiosqs.session.close()
    elif client == "raw-socket":
        from benchmarks.clients import RawSocketAdapter

        adapter = RawSocketAdapter(endpoint, 1)
        try:
            await adapter.get_queue_url(queue)
        finally:
            await adapter.close()
    elif client == "raw-aiohttp":
        import aiohttp

        body = json.dumps({"QueueName": queue}).encode()
        headers = presign(body, "AmazonSQS.GetQueueUrl", endpoint.removeprefix("http://"))
        async with (
            aiohttp.ClientSession() as session,
            session.post(endpoint, data=body, headers=headers) as response,
        ):
            await response.read()
    else:
        raise ValueError(client)


def boto3_first_response(endpoint: str, queue: str) -> None:
    import boto3

    from benchmarks.clients import KEY_ID, REGION, SECRET

    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    sqs.get_queue_url(QueueName=queue)
    sqs.close()


def measure(client: str, endpoint: str, queue: str) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        for module in IMPORTS[client]:
            imported = __import__(module)
    except ImportError as exc:
        return {"status": "n/a", "reason": f"{module} cannot be imported ({exc})"}
    result: dict[str, Any] = {"import_s": time.perf_counter() - start}
    # sqs_async imports its names on first use: what a program needs before its first call
    # includes resolving the entry point (the others have it once imported).
    getattr(imported, ENTRY_POINTS.get(client, "__name__"))
    result["import_ready_s"] = time.perf_counter() - start
    import asyncio

    for label in ("cold", "warm"):
        start = time.perf_counter()
        cpu = time.process_time()
        try:
            if client == "boto3":
                boto3_first_response(endpoint, queue)
            else:
                asyncio.run(first_response(client, endpoint, queue))
        except NotImplementedError as exc:
            return {"status": "n/a", "reason": str(exc), "result": result}
        except Exception as exc:
            return {
                "status": "error",
                "reason": f"{type(exc).__name__}: {exc}"[:300],
                "result": result,
            }
        result[f"first_response_{label}_s"] = time.perf_counter() - start
        result[f"first_response_{label}_cpu_s"] = time.process_time() - cpu
    return {"status": "ok", "result": result}


def main() -> None:
    client, port, queue = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if len(sys.argv) > 4:
        from benchmarks._system import pin_to_cpu

        pin_to_cpu(int(sys.argv[4]))
    print(json.dumps(measure(client, f"http://127.0.0.1:{port}", queue)), flush=True)


if __name__ == "__main__":
    main()
