"""One adapter per client under test, all with the same small surface.

Layer: used by `benchmarks.scenarios`; each adapter imports its library only when opened, so a
worker process holds just the client it measures (which keeps RSS and import numbers clean).

Primitives (what every client can do, or raises `NotAvailable` with the reason):
``send()`` one SendMessage; ``send_batch()`` one SendMessageBatch of 10; ``receive(wait)`` one
ReceiveMessage of up to 10; ``delete_batch(messages)`` one DeleteMessageBatch. The scenarios
build the hand-written loops from these. sqs_async also has native ``consume`` and
``batch_writer`` paths (see `SqsAsyncAdapter`). boto3 is synchronous: its primitives are plain
functions that the scenarios run on threads.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import time
from contextlib import AsyncExitStack
from typing import Any, ClassVar

REGION = "us-east-1"
KEY_ID = "AKIDEXAMPLEBENCH"
SECRET = "bench-secret-key"
# A small JSON document: the typical size of a work item on a queue.
BODY = '{"order_id": 1234567, "sku": "ABC-12345-XYZ", "quantity": 3, "note": "benchmark message"}'


class NotAvailable(Exception):
    """The client cannot run this scenario (missing package, API or feature)."""


def _import_error(package: str, exc: ImportError) -> NotAvailable:
    return NotAvailable(f"{package} cannot be imported ({exc})")


class Adapter:
    """Base: the async surface. Subclasses fill in what their client can do."""

    name: ClassVar[str] = ""
    is_sync: ClassVar[bool] = False
    # Per-scenario remarks that go into the table (how this client does the work).
    notes: ClassVar[dict[str, str]] = {}

    def __init__(self, endpoint: str, connections: int) -> None:
        self.endpoint = endpoint
        self.connections = connections
        self.queue_url = ""
        self.stack = AsyncExitStack()

    async def open(self, queue_name: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        await self.stack.aclose()

    async def send(self) -> int:
        raise NotAvailable(f"{self.name} has no SendMessage")

    async def send_batch(self) -> int:
        raise NotAvailable(f"{self.name} has no SendMessageBatch")

    async def receive(self, wait: int) -> list[Any]:
        raise NotAvailable(f"{self.name} has no ReceiveMessage")

    async def delete_batch(self, messages: list[Any]) -> None:
        raise NotAvailable(f"{self.name} has no DeleteMessageBatch")


class SqsAsyncAdapter(Adapter):
    """sqs_async through its public Queue API (what users write)."""

    name = "sqs_async"
    notes: ClassVar[dict[str, str]] = {
        "consume": "queue.consumer(handler, concurrency=64).run(), as consume() does",
        "batch_writer": "queue.batch_writer(), 64 producers",
    }

    async def open(self, queue_name: str) -> None:
        try:
            import sqs_async
        except ImportError as exc:
            raise _import_error("sqs_async", exc) from exc
        connect = getattr(sqs_async, "connect_sqs", None)
        if connect is None:
            raise NotAvailable("sqs_async.connect_sqs is not implemented yet")
        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "region": REGION,
            "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET,
        }
        try:
            conn = connect(**kwargs, max_connections=self.connections)
        except TypeError:  # no max_connections knob (yet)
            conn = connect(**kwargs)
        self.conn = await self.stack.enter_async_context(conn)
        self.queue = await self.conn.create_queue(queue_name)
        self.queue_url = self.queue.url

    async def send(self) -> int:
        await self.queue.write(self.queue.new_message(BODY))
        return 1

    async def send_batch(self) -> int:
        result = await self.queue.write_batch([self.queue.new_message(BODY) for _ in range(10)])
        failed = getattr(result, "failed", None)
        if failed:
            raise RuntimeError(f"write_batch failed entries: {failed!r}")
        return 10

    async def receive(self, wait: int) -> list[Any]:
        # No system attributes, like the peers' requests (the default asks for all of them).
        return list(await self.queue.get_messages(10, wait_time_seconds=wait, attributes=[]))

    async def delete_batch(self, messages: list[Any]) -> None:
        await self.queue.delete_message_batch(messages)

    def native(self, feature: str) -> Any:
        """The queue's `consume` or `batch_writer`, or NotAvailable while it is missing."""
        method = getattr(self.queue, feature, None)
        if method is None:
            raise NotAvailable(f"sqs_async Queue.{feature} is not implemented yet")
        return method


class AiobotocoreAdapter(Adapter):
    name = "aiobotocore"
    notes: ClassVar[dict[str, str]] = {"consume": "hand-written receive/delete_batch loop"}

    async def open(self, queue_name: str) -> None:
        try:
            from aiobotocore.config import AioConfig
            from aiobotocore.session import get_session
        except ImportError as exc:
            raise _import_error("aiobotocore", exc) from exc
        creator = get_session().create_client(
            "sqs",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            config=AioConfig(max_pool_connections=self.connections),
        )
        self.client = await self.stack.enter_async_context(creator)
        self.queue_url = (await self.client.create_queue(QueueName=queue_name))["QueueUrl"]

    async def send(self) -> int:
        await self.client.send_message(QueueUrl=self.queue_url, MessageBody=BODY)
        return 1

    async def send_batch(self) -> int:
        entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        await self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return 10

    async def receive(self, wait: int) -> list[Any]:
        response = await self.client.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        )
        return response.get("Messages", [])  # type: ignore[no-any-return]

    async def delete_batch(self, messages: list[Any]) -> None:
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        await self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)


class AiosqsAdapter(Adapter):
    """aiosqs 1.0.6: query protocol over GET; no batch operations."""

    name = "aiosqs"
    notes: ClassVar[dict[str, str]] = {
        "receive_delete": "10 x DeleteMessage (no batch API)",
        "consume": "hand-written loop, 10 x DeleteMessage",
    }

    async def open(self, queue_name: str) -> None:
        try:
            import aiohttp
            from aiosqs import SQSClient
        except ImportError as exc:
            raise _import_error("aiosqs", exc) from exc
        host = self.endpoint.removeprefix("http://")
        client = SQSClient(
            region_name=REGION, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, host=host
        )
        # aiosqs always builds https:// URLs; the local server is plain HTTP. Its own session has
        # aiohttp's default limit (100); give it the same pool size as the others.
        client.endpoint_url = self.endpoint
        await client.session.close()
        client.session = aiohttp.ClientSession(
            timeout=client.timeout, connector=aiohttp.TCPConnector(limit=self.connections)
        )
        self.stack.push_async_callback(client.session.close)  # client.close() sleeps 0.25 s
        self.client = client
        # aiosqs has no CreateQueue: the harness creates the queue through the admin API.
        self.queue_url = (await client.get_queue_url(queue_name))["QueueUrl"]

    async def send(self) -> int:
        await self.client.send_message(queue_url=self.queue_url, message_body=BODY)
        return 1

    async def receive(self, wait: int) -> list[Any]:
        messages = await self.client.receive_message(
            queue_url=self.queue_url,
            max_number_of_messages=10,
            visibility_timeout=30,
            wait_time_seconds=wait,
        )
        return list(messages or ())

    async def delete_batch(self, messages: list[Any]) -> None:
        await asyncio.gather(
            *(
                self.client.delete_message(
                    queue_url=self.queue_url, receipt_handle=m["ReceiptHandle"]
                )
                for m in messages
            )
        )


def presign(body: bytes, target: str, host: str) -> dict[str, str]:
    """SigV4 headers for one request, computed once and reused (the server does not check)."""
    now = datetime.datetime.now(datetime.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-target": target,
    }
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        ["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, payload]
    )
    scope = f"{day}/{REGION}/sqs/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + SECRET).encode()
    for part in (day, REGION, "sqs", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    del headers["host"]  # aiohttp sets it
    return headers


class RawFloorAdapter(Adapter):
    """The floor: one aiohttp ClientSession posting pre-signed, pre-serialized bytes.

    No retries, no MD5 checks, no parsing beyond what the next request needs (the receipt
    handles). No real client can be cheaper per request on this stack.
    """

    name = "raw-aiohttp"
    notes: ClassVar[dict[str, str]] = {"consume": "hand-written loop"}

    async def open(self, queue_name: str) -> None:
        import aiohttp
        import orjson

        self.dumps, self.loads = orjson.dumps, orjson.loads
        connector = aiohttp.TCPConnector(limit=self.connections)
        self.session = await self.stack.enter_async_context(
            aiohttp.ClientSession(connector=connector)
        )
        host = self.endpoint.removeprefix("http://")
        body = self.dumps({"QueueName": queue_name})
        created = await self._post(body, presign(body, "AmazonSQS.CreateQueue", host))
        self.queue_url = self.loads(created)["QueueUrl"]
        url = self.queue_url
        self.send_body = self.dumps({"QueueUrl": url, "MessageBody": BODY})
        entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        self.batch_body = self.dumps({"QueueUrl": url, "Entries": entries})
        self.recv_bodies = {
            wait: self.dumps({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": wait})
            for wait in (0, 1)
        }
        self.h_send = presign(self.send_body, "AmazonSQS.SendMessage", host)
        self.h_batch = presign(self.batch_body, "AmazonSQS.SendMessageBatch", host)
        self.h_recv = presign(self.recv_bodies[0], "AmazonSQS.ReceiveMessage", host)
        self.h_delete = presign(b"{}", "AmazonSQS.DeleteMessageBatch", host)

    async def _post(self, body: bytes, headers: dict[str, str]) -> bytes:
        async with self.session.post(self.endpoint, data=body, headers=headers) as response:
            data = await response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
            return data

    async def send(self) -> int:
        await self._post(self.send_body, self.h_send)
        return 1

    async def send_batch(self) -> int:
        await self._post(self.batch_body, self.h_batch)
        return 10

    async def receive(self, wait: int) -> list[Any]:
        data = self.loads(await self._post(self.recv_bodies[wait], self.h_recv))
        return data.get("Messages", [])  # type: ignore[no-any-return]

    async def delete_batch(self, messages: list[Any]) -> None:
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        await self._post(
            self.dumps({"QueueUrl": self.queue_url, "Entries": entries}), self.h_delete
        )


class _FloorConnection(asyncio.Protocol):
    """One keep-alive connection of the socket floor: frames responses by Content-Length."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.total = -1  # head + body length of the response being read, once known
        self.body_at = 0
        self.waiter: asyncio.Future[bytes] | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost ({exc})"))
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if self.total < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            at = buffer.find(b"Content-Length: ", 0, end)
            length = int(buffer[at + 16 : buffer.find(b"\r", at)])
            self.total = end + 4 + length
            self.body_at = end + 4
        if len(buffer) < self.total:
            self.buffer = buffer
            return
        response, self.buffer, self.total = buffer, b"", -1
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        if response[9:12] == b"200":
            waiter.set_result(response[self.body_at :])
        else:
            waiter.set_exception(RuntimeError(f"HTTP error: {response[:300]!r}"))

    def exchange(self, request: bytes) -> asyncio.Future[bytes]:
        assert self.transport is not None
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return waiter


def _request_bytes(host: str, headers: dict[str, str], body: bytes) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST / HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


class RawSocketAdapter(Adapter):
    """The physical floor: asyncio protocols writing pre-built, pre-signed request bytes.

    One keep-alive `asyncio.Protocol` connection per task (a free list as deep as the task
    count, so no task ever waits for one); each request is one ``transport.write`` of bytes
    built before the run, and the response is framed by its Content-Length and not parsed,
    except the receipt handles that the next DeleteMessageBatch needs. No client doing any
    HTTP on asyncio can spend less CPU per request.
    """

    name = "raw-socket"
    notes: ClassVar[dict[str, str]] = {"consume": "hand-written loop"}

    def __init__(self, endpoint: str, connections: int) -> None:
        super().__init__(endpoint, connections)
        import orjson

        self.dumps, self.loads = orjson.dumps, orjson.loads
        self.host = endpoint.removeprefix("http://")
        host, _, port = self.host.rpartition(":")
        self.address = (host, int(port))
        self.idle: list[_FloorConnection] = []
        self.opened: list[_FloorConnection] = []

    async def get_queue_url(self, queue_name: str) -> str:
        """One GetQueueUrl (what the start-up measure times)."""
        body = self.dumps({"QueueName": queue_name})
        return self.loads(await self._post(self._build(body, "GetQueueUrl")))["QueueUrl"]  # type: ignore[no-any-return]

    async def open(self, queue_name: str) -> None:
        body = self.dumps({"QueueName": queue_name})
        created = await self._post(self._build(body, "CreateQueue"))
        self.queue_url = self.loads(created)["QueueUrl"]
        url = self.queue_url
        self.r_send = self._build(self.dumps({"QueueUrl": url, "MessageBody": BODY}), "SendMessage")
        entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        self.r_batch = self._build(
            self.dumps({"QueueUrl": url, "Entries": entries}), "SendMessageBatch"
        )
        self.r_recv = {
            wait: self._build(
                self.dumps({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": wait}),
                "ReceiveMessage",
            )
            for wait in (0, 1)
        }
        # Headers of DeleteMessageBatch without Content-Length, which follows its body.
        signed = presign(b"{}", "AmazonSQS.DeleteMessageBatch", self.host)
        head = "".join(f"{name}: {value}\r\n" for name, value in signed.items())
        self.delete_head = f"POST / HTTP/1.1\r\nHost: {self.host}\r\n{head}".encode()

    def _build(self, body: bytes, operation: str) -> bytes:
        return _request_bytes(self.host, presign(body, f"AmazonSQS.{operation}", self.host), body)

    async def close(self) -> None:
        for connection in self.opened:
            if connection.transport is not None:
                connection.transport.close()
        if self.opened:
            await asyncio.wait([c.lost for c in self.opened], timeout=1.0)
        await super().close()

    async def _post(self, request: bytes) -> bytes:
        idle = self.idle
        if idle:
            connection = idle.pop()
        else:
            _, connection = await asyncio.get_running_loop().create_connection(
                _FloorConnection, *self.address
            )
            self.opened.append(connection)
        try:
            body = await connection.exchange(request)
        except BaseException:  # cancelled or failed: the connection is out of step, drop it
            if connection.transport is not None:
                connection.transport.abort()
            raise
        idle.append(connection)
        return body

    async def send(self) -> int:
        await self._post(self.r_send)
        return 1

    async def send_batch(self) -> int:
        await self._post(self.r_batch)
        return 10

    async def receive(self, wait: int) -> list[Any]:
        data = self.loads(await self._post(self.r_recv[wait]))
        return data.get("Messages", [])  # type: ignore[no-any-return]

    async def delete_batch(self, messages: list[Any]) -> None:
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        body = self.dumps({"QueueUrl": self.queue_url, "Entries": entries})
        await self._post(self.delete_head + b"Content-Length: %d\r\n\r\n" % len(body) + body)


_JSON = "application/x-amz-json-1.0"
_SIGNED_HEADERS = "content-type;host;x-amz-date;x-amz-target"


class RawSignedSocketAdapter(RawSocketAdapter):
    """The signed-socket floor: the socket floor plus only the work a correct client must do.

    The same connections and Content-Length framing as `RawSocketAdapter`, but per request it
    builds the params dict and serializes it (orjson), signs it with SigV4 (the signing key
    derived once per UTC day and cached, the timestamp formatted once per second; then the
    SHA-256 of the body, the canonical request of the 4 signed headers, its SHA-256 and the
    HMAC-SHA256 signature), parses every response (orjson) and checks the MD5 of every body
    sent and received, raising on a mismatch or a failed batch entry. Nothing else: no
    validation, no message objects, no retries, no timeouts. No correct client can spend less
    CPU per request; its ratio to the socket floor is the least any of them can reach.
    """

    name = "raw-signed-socket"

    def __init__(self, endpoint: str, connections: int) -> None:
        super().__init__(endpoint, connections)
        self.second = -1
        self.amz_date = self.day = ""
        self.scope = self.credential = ""
        # HMAC-SHA256 with the signing key as the two SHA-256 states after the padded key
        # (RFC 2104): copying them per request is cheaper than hmac.new()/hmac.digest().
        self.hmac_inner = self.hmac_outer = hashlib.sha256()

    async def open(self, queue_name: str) -> None:
        created = await self._post(self._request("CreateQueue", {"QueueName": queue_name}))
        self.queue_url = self.loads(created)["QueueUrl"]

    def _request(self, operation: str, params: dict[str, Any], now: float | None = None) -> bytes:
        """One signed request: params serialized, SigV4 computed, as bytes to write."""
        body = self.dumps(params)
        second = int(time.time() if now is None else now)
        if second != self.second:
            self.second = second
            self.amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            if self.amz_date[:8] != self.day:  # a new UTC day: a new signing key
                self.day = self.amz_date[:8]
                self.scope = f"{self.day}/{REGION}/sqs/aws4_request"
                self.credential = f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{self.scope}, "
                key = ("AWS4" + SECRET).encode()
                for part in (self.day, REGION, "sqs", "aws4_request"):
                    key = hmac.digest(key, part.encode(), "sha256")
                padded = key.ljust(64, b"\0")
                self.hmac_inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
                self.hmac_outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        amz_date, host, target = self.amz_date, self.host, f"AmazonSQS.{operation}"
        canonical = (
            f"POST\n/\n\ncontent-type:{_JSON}\nhost:{host}\nx-amz-date:{amz_date}\n"
            f"x-amz-target:{target}\n\n{_SIGNED_HEADERS}\n{hashlib.sha256(body).hexdigest()}"
        )
        to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{self.scope}\n"
            f"{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        inner = self.hmac_inner.copy()
        inner.update(to_sign.encode())
        outer = self.hmac_outer.copy()
        outer.update(inner.digest())
        return (
            f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {_JSON}\r\n"
            f"X-Amz-Date: {amz_date}\r\nX-Amz-Target: {target}\r\n"
            f"Authorization: {self.credential}SignedHeaders={_SIGNED_HEADERS}, "
            f"Signature={outer.hexdigest()}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    async def get_queue_url(self, queue_name: str) -> str:
        request = self._request("GetQueueUrl", {"QueueName": queue_name})
        return self.loads(await self._post(request))["QueueUrl"]  # type: ignore[no-any-return]

    async def send(self) -> int:
        body = BODY
        request = self._request("SendMessage", {"QueueUrl": self.queue_url, "MessageBody": body})
        data = self.loads(await self._post(request))
        if data["MD5OfMessageBody"] != hashlib.md5(body.encode()).hexdigest():
            raise RuntimeError(f"MD5 mismatch on SendMessage: {data!r}")
        return 1

    async def send_batch(self) -> int:
        entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        request = self._request(
            "SendMessageBatch", {"QueueUrl": self.queue_url, "Entries": entries}
        )
        md5s = {e["Id"]: hashlib.md5(e["MessageBody"].encode()).hexdigest() for e in entries}
        data = self.loads(await self._post(request))
        if data.get("Failed"):
            raise RuntimeError(f"SendMessageBatch failed entries: {data['Failed']!r}")
        for entry in data["Successful"]:
            if entry["MD5OfMessageBody"] != md5s[entry["Id"]]:
                raise RuntimeError(f"MD5 mismatch on SendMessageBatch: {entry!r}")
        return 10

    async def receive(self, wait: int) -> list[Any]:
        params = {"QueueUrl": self.queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": wait}
        data = self.loads(await self._post(self._request("ReceiveMessage", params)))
        messages: list[Any] = data.get("Messages", [])
        for message in messages:
            if message["MD5OfBody"] != hashlib.md5(message["Body"].encode()).hexdigest():
                raise RuntimeError(f"MD5 mismatch on ReceiveMessage: {message!r}")
        return messages

    async def delete_batch(self, messages: list[Any]) -> None:
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        request = self._request(
            "DeleteMessageBatch", {"QueueUrl": self.queue_url, "Entries": entries}
        )
        data = self.loads(await self._post(request))
        if data.get("Failed"):
            raise RuntimeError(f"DeleteMessageBatch failed entries: {data['Failed']!r}")


class Boto3Adapter(Adapter):
    """boto3: synchronous; the scenarios call these from a thread pool of the same width."""

    name = "boto3"
    is_sync = True
    notes: ClassVar[dict[str, str]] = {"*": "threads, not asyncio"}

    async def open(self, queue_name: str) -> None:
        self.open_sync(queue_name)

    def open_sync(self, queue_name: str) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:
            raise _import_error("boto3", exc) from exc
        self.client = boto3.client(
            "sqs",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            config=Config(max_pool_connections=self.connections),
        )
        self.queue_url = self.client.create_queue(QueueName=queue_name)["QueueUrl"]

    async def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()

    def send_sync(self) -> int:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=BODY)
        return 1

    def send_batch_sync(self) -> int:
        entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return 10

    def receive_sync(self, wait: int) -> list[Any]:
        response = self.client.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        )
        return response.get("Messages", [])  # type: ignore[no-any-return]

    def delete_batch_sync(self, messages: list[Any]) -> None:
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)


ADAPTERS: dict[str, type[Adapter]] = {
    cls.name: cls
    for cls in (
        SqsAsyncAdapter,
        AiobotocoreAdapter,
        Boto3Adapter,
        AiosqsAdapter,
        RawFloorAdapter,
        RawSocketAdapter,
        RawSignedSocketAdapter,
    )
}
CLIENTS = tuple(ADAPTERS)
# What each adapter imports when it opens (a worker preloads these).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "sqs_async": ("sqs_async",),
    "aiobotocore": ("aiobotocore.session", "aiobotocore.config"),
    "boto3": ("boto3", "botocore.config"),
    "aiosqs": ("aiosqs", "aiohttp"),
    "raw-aiohttp": ("aiohttp", "orjson"),
    "raw-socket": ("orjson",),
    "raw-signed-socket": ("orjson",),
}
FLOOR = RawFloorAdapter.name
SOCKET_FLOOR = RawSocketAdapter.name  # the headline reference
SIGNED_FLOOR = RawSignedSocketAdapter.name  # the socket floor plus a correct client's work
BASELINE = AiobotocoreAdapter.name
