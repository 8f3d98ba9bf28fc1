"""Fault injection for the consumer tests: a proxy in front of a real server, and a fake SQS.

* :class:`FaultProxy` (integration tests): an HTTP/1.1 proxy on ``127.0.0.1:0``, in the test's
  event loop, in front of the SQS-compatible server (moto). It forwards each request and, at
  per-operation rates (the operation is read from ``X-Amz-Target``), injects: HTTP 500
  ``InternalError``, HTTP 503 ``ServiceUnavailable``, HTTP 400 ``RequestThrottled``, connection
  resets before forwarding (the server never acts) or *after* forwarding (the server acted, the
  client never hears), stalls past the client's read timeout, truncated bodies and garbled
  bodies. It can also fail chosen entries of batch calls (the entries are taken out of the
  request, so the server never acts on them, and put back into the response as ``Failed``).
  The RNG is seeded; ``injected`` counts what it did. It serves loopback clients only.
* :class:`FakeSQS` (unit tests): one in-memory queue served through
  :class:`~sqs_async._transport.mock.MockTransport`. An operation can be made to hang before or
  after it acts (the request then ends as a real transport would: a ``ReadTimeout`` at the
  request's read timeout). Its state is what the tests check for lost or duplicated messages.
* :func:`wait_for`: poll a condition with a deadline (no fixed sleeps in the tests).
* Fixtures for the integration modules (load them with ``pytest_plugins = ["faults"]``):
  ``fault_proxy`` (a started proxy in front of ``sqs_endpoint``, no faults until configured) and
  ``make_queue`` (queues on ``sqs_connection``, deleted after the test). The test modules also
  import helpers from here before pytest loads it as a plugin, so assertion rewriting is off
  for it (PYTEST_DONT_REWRITE), which spares the "already imported" warning.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import hashlib
import inspect
import ipaddress
import itertools
import json
import random
import socket
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

import aiohttp
import pytest_asyncio

from sqs_async import Queue, RetryPolicy, SQSConnection, Timeouts
from sqs_async._transport.base import Response
from sqs_async._transport.mock import MockTransport, RecordedCall, error_response
from sqs_async.errors import ReadTimeout, SQSError
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, QueueNameFactory

__all__ = [
    "FAULTS",
    "QueueMaker",
    "connect",
    "cyclic_gc_paused",
    "fault_proxy",
    "make_queue",
    "EntryFailure",
    "FakeMessage",
    "FakeSQS",
    "Fault",
    "FaultProxy",
    "fake_connection",
    "visibility_changes",
    "wait_for",
]

JSON_TYPE = "application/x-amz-json-1.0"

# -- waiting -------------------------------------------------------------------------------


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]],
    within: float,
    *,
    interval: float = 0.05,
    message: str = "",
) -> None:
    """Poll ``predicate`` (sync or async) every ``interval`` s until it holds.

    Raises:
        AssertionError: It did not hold within ``within`` seconds.
    """
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {within} s {message}".rstrip())
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def cyclic_gc_paused() -> AsyncIterator[None]:
    """Run the body with the cyclic garbage collector off, as for a long-lived object in a
    long-running process (gen-2 collections are rare). On exit: collect, then wait for the
    consumer tasks that the collected objects' finalizers end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect()

        def settled() -> bool:
            return not any(
                t.get_name().startswith("sqs-async") and not t.done() for t in asyncio.all_tasks()
            )

        await wait_for(settled, 5.0, interval=0.01)


def connect(endpoint_url: str, **kwargs: Any) -> SQSConnection:
    """A new (unopened) connection to ``endpoint_url`` with the test credentials."""
    return SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url, **kwargs
    )


class QueueMaker(Protocol):
    """The ``make_queue`` fixture: a new uniquely named queue, deleted after the test."""

    async def __call__(
        self,
        *,
        fifo: bool = False,
        visibility_timeout: int | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Queue: ...


@pytest_asyncio.fixture
async def make_queue(
    sqs_connection: SQSConnection, sqs_queue_name: QueueNameFactory
) -> AsyncIterator[QueueMaker]:
    """Queues on ``sqs_connection`` (a direct connection, no proxy); deleted at teardown."""
    created: list[Queue] = []

    async def make(
        *,
        fifo: bool = False,
        visibility_timeout: int | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Queue:
        queue = await sqs_connection.create_queue(
            sqs_queue_name(fifo=fifo), visibility_timeout, attributes=attributes
        )
        created.append(queue)
        return queue

    yield make
    for queue in created:
        with contextlib.suppress(SQSError):
            await sqs_connection.delete_queue_raw(QueueUrl=queue.url)


@pytest_asyncio.fixture
async def fault_proxy(sqs_endpoint: str) -> AsyncIterator[FaultProxy]:
    """A started :class:`FaultProxy` in front of the test server; no faults until configured."""
    async with FaultProxy(sqs_endpoint, seed=20240611, stall_seconds=1.5) as proxy:
        yield proxy


# -- the fault proxy -----------------------------------------------------------------------

Fault = Literal[
    "http500",  # 500 InternalError, server not reached
    "http503",  # 503 ServiceUnavailable, server not reached
    "throttle",  # 400 RequestThrottled, server not reached
    "reset_before",  # connection reset, server not reached
    "reset_after",  # forwarded (the server acted), then connection reset
    "stall",  # no answer for stall_seconds (past the read timeout), then reset
    "truncate",  # forwarded, then half the body and a reset
    "garble",  # forwarded, then a 200 with a body that is not JSON
]
FAULTS: tuple[Fault, ...] = get_args(Fault)

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "host",
    "proxy-connection",
    "te",
    "upgrade",
}
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error"}
_REASONS[503] = "Service Unavailable"


@dataclass
class EntryFailure:
    """A rule: fail the batch entries of ``operation`` that ``match``, with ``code``.

    Matching entries are removed from the request (the server never sees them) and reported
    back in the response's ``Failed`` list. ``times`` bounds how many entries in all
    (``None``: no bound); ``failed`` counts them.
    """

    operation: str
    code: str
    match: Callable[[dict[str, Any]], bool] = lambda entry: True
    times: int | None = 1
    sender_fault: bool = True
    failed: int = 0

    def take(self, entry: dict[str, Any]) -> bool:
        if self.times is not None and self.failed >= self.times:
            return False
        if not self.match(entry):
            return False
        self.failed += 1
        return True


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


RequestObserver = Callable[[str, dict[str, Any]], None]
ResponseObserver = Callable[[str, dict[str, Any], dict[str, Any]], None]


class FaultProxy:
    """A fault-injecting HTTP proxy in front of an SQS-compatible server (see module docs).

    Args:
        upstream: The server's endpoint URL.
        seed: Seeds the RNG that picks faults.
        rates: ``{operation: {fault: probability}}``; the key ``"*"`` applies to operations
            not listed. Probabilities of one operation must sum to at most 1.
        stall_seconds: How long a stall lasts (make it exceed the client's read timeout).
    """

    def __init__(
        self,
        upstream: str,
        *,
        seed: int = 0,
        rates: Mapping[str, Mapping[Fault, float]] | None = None,
        stall_seconds: float = 2.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.rng = random.Random(seed)
        self.rates: dict[str, dict[Fault, float]] = {}
        self.set_rates(rates or {})
        self.stall_seconds = stall_seconds
        self.entry_failures: list[EntryFailure] = []
        self.gates: dict[str, Callable[[], Awaitable[None]]] = {}
        self.request_observers: list[RequestObserver] = []
        self.response_observers: list[ResponseObserver] = []
        self.injected: collections.Counter[tuple[str, Fault]] = collections.Counter()
        self.requests: collections.Counter[str] = collections.Counter()
        self.forwarded: collections.Counter[str] = collections.Counter()
        self.active: collections.Counter[str] = collections.Counter()
        self.refused = 0
        self._scripted: dict[str, collections.deque[Fault]] = collections.defaultdict(
            collections.deque
        )
        self._server: asyncio.Server | None = None
        self._session: aiohttp.ClientSession | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._port = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> FaultProxy:
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # -- configuration ----------------------------------------------------------------------

    def set_rates(self, rates: Mapping[str, Mapping[Fault, float]]) -> None:
        """Replace the fault rates (``{}``: no random faults)."""
        for operation, table in rates.items():
            unknown = set(table) - set(FAULTS)
            if unknown or sum(table.values()) > 1.0:
                raise ValueError(f"bad fault rates for {operation}: {dict(table)}")
        self.rates = {op: dict(table) for op, table in rates.items()}

    def script(self, operation: str, *faults: Fault) -> None:
        """Inject these faults, in order, on the next requests of ``operation``."""
        self._scripted[operation].extend(faults)

    def gate(self, operation: str, wait: Callable[[], Awaitable[None]]) -> None:
        """Hold each request of ``operation`` until ``wait()`` returns, then serve it."""
        self.gates[operation] = wait

    def fail_entries(self, rule: EntryFailure) -> EntryFailure:
        """Add a batch-entry failure rule; returns it (its ``failed`` counts the entries)."""
        self.entry_failures.append(rule)
        return rule

    def injected_total(self) -> int:
        return sum(self.injected.values())

    def injected_by_fault(self) -> dict[str, int]:
        totals: collections.Counter[str] = collections.Counter()
        for (_, fault), count in self.injected.items():
            totals[fault] += count
        return dict(sorted(totals.items()))

    # -- serving ----------------------------------------------------------------------------

    def _pick(self, operation: str) -> Fault | None:
        scripted = self._scripted.get(operation)
        if scripted:
            return scripted.popleft()
        table = self.rates.get(operation, self.rates.get("*"))
        if not table:
            return None
        draw = self.rng.random()
        for fault in FAULTS:
            draw -= table.get(fault, 0.0)
            if draw < 0:
                return fault
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            peer = writer.get_extra_info("peername")
            if not peer or not ipaddress.ip_address(peer[0]).is_loopback:
                self.refused += 1
                return
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                if not await self._handle(request, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            self._connections.discard(task)
            if not writer.transport.is_closing():
                writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; return whether the connection stays open."""
        operation = request.headers.get("x-amz-target", "").rpartition(".")[2]
        self.requests[operation] += 1
        fault = self._pick(operation)
        if fault is not None:
            self.injected[(operation, fault)] += 1
        self.active[operation] += 1
        try:
            if fault == "reset_before":
                _reset(writer)
                return False
            if fault == "stall":
                await asyncio.sleep(self.stall_seconds)
                _reset(writer)
                return False
            if fault in ("http500", "http503", "throttle"):
                await _respond(writer, *_error_for(fault))
                return True
            gate = self.gates.get(operation)
            if gate is not None:  # e.g. pace requests, like a slow server
                await gate()
            params = json.loads(request.body) if request.body else {}
            status, headers, body = await self._forward(operation, request, params)
            if fault == "reset_after":
                _reset(writer)
                return False
            if fault == "truncate":
                await _respond(writer, status, headers, body, truncate=True)
                _reset(writer)
                return False
            if fault == "garble":
                body = b"\x00<garbled>" + bytes(self.rng.randrange(256) for _ in range(32))
            await _respond(writer, status, headers, body)
            return request.headers.get("connection", "").lower() != "close"
        finally:
            self.active[operation] -= 1

    async def _forward(
        self, operation: str, request: _Request, params: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        failed: list[dict[str, Any]] = []
        body = request.body
        entries = params.get("Entries")
        rules = [r for r in self.entry_failures if r.operation == operation]
        if rules and isinstance(entries, list):
            kept = []
            for entry in entries:
                rule = next((r for r in rules if r.take(entry)), None)
                if rule is None:
                    kept.append(entry)
                else:
                    failed.append(
                        {
                            "Id": entry["Id"],
                            "Code": rule.code,
                            "Message": f"injected {rule.code}",
                            "SenderFault": rule.sender_fault,
                        }
                    )
            if failed:
                params = dict(params, Entries=kept)
                body = json.dumps(params).encode()
        for observe in self.request_observers:
            observe(operation, params)
        if failed and not params["Entries"]:
            status, headers = 200, {"Content-Type": JSON_TYPE}
            data: dict[str, Any] = {"Successful": [], "Failed": []}
            payload = b""
        else:
            assert self._session is not None
            headers_out = {k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP}
            async with self._session.post(
                self.upstream + request.path, data=body, headers=headers_out
            ) as resp:
                payload = await resp.read()
                status = resp.status
                headers = {k: v for k, v in resp.headers.items() if k.lower() not in _HOP_BY_HOP}
            self.forwarded[operation] += 1
            data = {}
            if status == 200 and payload[:1] == b"{":
                data = json.loads(payload)
        if failed and status == 200:
            data.setdefault("Successful", [])
            data["Failed"] = [*data.get("Failed", []), *failed]
            payload = json.dumps(data).encode()
        if status == 200:
            for observe_response in self.response_observers:
                observe_response(operation, params, data)
        return status, headers, payload


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return _Request(method, path, headers, body)


def _error_for(fault: Fault) -> tuple[int, dict[str, str], bytes]:
    status, code, query = {
        "http500": (500, "InternalError", "InternalError;Receiver"),
        "http503": (503, "ServiceUnavailable", "ServiceUnavailable;Receiver"),
        "throttle": (400, "RequestThrottled", "AWS.SimpleQueueService.RequestThrottled;Sender"),
    }[fault]
    headers = {
        "Content-Type": JSON_TYPE,
        "x-amzn-RequestId": str(uuid.uuid4()),
        "x-amzn-query-error": query,
    }
    body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": f"injected {fault}"})
    return status, headers, body.encode()


async def _respond(
    writer: asyncio.StreamWriter,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    truncate: bool = False,
) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: keep-alive", "", ""]
    writer.write("\r\n".join(lines).encode("latin-1"))
    writer.write(body[: len(body) // 2] if truncate else body)
    await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP RST (SO_LINGER 0), answering nothing."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# -- the fake SQS (unit tests) -------------------------------------------------------------

HangMode = Literal["before", "after"]


@dataclass
class FakeMessage:
    """One message in the fake queue."""

    id: str
    body: str
    group: str | None = None
    visible_at: float = 0.0
    receive_count: int = 0
    handle: str | None = None  # the current receipt handle
    handles: list[str] = field(default_factory=list)  # every handle ever issued


class FakeSQS:
    """One in-memory SQS queue, served through a MockTransport (see the module docs).

    Args:
        visibility_timeout: The queue's default visibility timeout.
        fifo: FIFO semantics: nothing more of a group is delivered while one is in flight.
        clock: The clock visibility uses.
    """

    def __init__(
        self,
        *,
        visibility_timeout: int = 30,
        fifo: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.visibility_timeout = visibility_timeout
        self.fifo = fifo
        self.url = "https://sqs.us-east-1.amazonaws.com/123456789012/fake" + (
            ".fifo" if fifo else ""
        )
        self.clock = clock
        self.messages: dict[str, FakeMessage] = {}
        self.ever: dict[str, FakeMessage] = {}  # every message stored, deleted ones too
        self.by_handle: dict[str, str] = {}
        self.deleted: list[str] = []  # ids, in the order they were deleted
        self.sent: list[str] = []  # ids, in the order they were stored
        self.hang: dict[str, HangMode] = {}
        self.hung: collections.Counter[str] = collections.Counter()
        self.fail: dict[str, collections.deque[Response]] = collections.defaultdict(
            collections.deque
        )
        self.on_delete: Callable[[FakeMessage], None] | None = None
        self.renewal_delay = 0.0  # seconds before a visibility change > 0 is applied
        self.renewals_applied = 0
        self._ids = itertools.count()

    # -- setup and inspection ---------------------------------------------------------------

    def transport(self) -> MockTransport:
        return MockTransport(self)

    def add(self, *bodies: str, group: str | None = None) -> list[str]:
        ids = []
        for body in bodies:
            message = FakeMessage(f"m{next(self._ids)}", body, group)
            self.messages[message.id] = message
            self.ever[message.id] = message
            self.sent.append(message.id)
            ids.append(message.id)
        return ids

    def visible(self) -> list[FakeMessage]:
        now = self.clock()
        return [m for m in self.messages.values() if m.visible_at <= now]

    def in_flight(self) -> list[FakeMessage]:
        now = self.clock()
        return [m for m in self.messages.values() if m.visible_at > now]

    def body_of(self, handle: str) -> str:
        """The body of the message a receipt handle was issued for."""
        return self.ever[self.by_handle[handle]].body

    def bodies(self) -> list[str]:
        return [m.body for m in self.messages.values()]

    # -- serving ----------------------------------------------------------------------------

    async def __call__(self, call: RecordedCall) -> Response | dict[str, Any]:
        failures = self.fail.get(call.operation)
        if failures:
            return failures.popleft()
        mode = self.hang.get(call.operation)
        if mode == "before":
            await self._hang(call)
        result = await self._dispatch(call.operation, call.params)
        if mode == "after":
            await self._hang(call)
        return result

    async def _hang(self, call: RecordedCall) -> None:
        """Never answer: end as a real transport does, at the request's read timeout."""
        self.hung[call.operation] += 1
        await asyncio.sleep(call.read_timeout)
        raise ReadTimeout(f"no response within {call.read_timeout}s")

    async def _dispatch(self, operation: str, params: dict[str, Any]) -> Response | dict[str, Any]:
        if operation == "GetQueueAttributes":
            return {"Attributes": self._attributes()}
        if operation == "SendMessage":
            return self._send(params)
        if operation == "SendMessageBatch":
            return {
                "Successful": [dict(self._send(e), Id=e["Id"]) for e in params["Entries"]],
                "Failed": [],
            }
        if operation == "ReceiveMessage":
            return await self._receive(params)
        if operation in ("DeleteMessage", "ChangeMessageVisibility"):
            error = self._entry(operation, params)
            if error is not None:
                return error_response(400, error, f"bad handle {params['ReceiptHandle']!r}")
            return {}
        if operation in ("DeleteMessageBatch", "ChangeMessageVisibilityBatch"):
            single = operation.removesuffix("Batch")
            renewal = any(e.get("VisibilityTimeout", 0) > 0 for e in params["Entries"])
            if single == "ChangeMessageVisibility" and renewal and self.renewal_delay:
                await asyncio.sleep(self.renewal_delay)  # a slow request, overtaken by later ones
            result: dict[str, list[dict[str, Any]]] = {"Successful": [], "Failed": []}
            for entry in params["Entries"]:
                error = self._entry(single, entry)
                if error is None:
                    result["Successful"].append({"Id": entry["Id"]})
                else:
                    failed = {"Id": entry["Id"], "Code": error, "SenderFault": True}
                    result["Failed"].append(failed)
            if single == "ChangeMessageVisibility" and renewal:
                self.renewals_applied += 1
            return result
        return error_response(400, "InvalidAction", f"the fake does not do {operation}")

    def _attributes(self) -> dict[str, str]:
        return {
            "VisibilityTimeout": str(self.visibility_timeout),
            "ApproximateNumberOfMessages": str(len(self.visible())),
            "ApproximateNumberOfMessagesNotVisible": str(len(self.in_flight())),
            "ApproximateNumberOfMessagesDelayed": "0",
        }

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        body = params["MessageBody"]
        (message_id,) = self.add(body, group=params.get("MessageGroupId"))
        return {"MessageId": message_id, "MD5OfMessageBody": _md5(body)}

    async def _receive(self, params: dict[str, Any]) -> dict[str, Any]:
        deadline = self.clock() + float(params.get("WaitTimeSeconds") or 0)
        while True:
            picked = self._pick(int(params.get("MaxNumberOfMessages") or 1))
            if picked or self.clock() >= deadline:
                break
            await asyncio.sleep(0.005)
        timeout = params.get("VisibilityTimeout")
        timeout = self.visibility_timeout if timeout is None else int(timeout)
        now = self.clock()
        out = []
        for message in picked:
            message.receive_count += 1
            message.visible_at = now + timeout
            message.handle = f"{message.id}/{uuid.uuid4().hex}"
            message.handles.append(message.handle)
            self.by_handle[message.handle] = message.id
            attributes = {
                "ApproximateReceiveCount": str(message.receive_count),
                "SentTimestamp": "0",
            }
            if message.group is not None:
                attributes["MessageGroupId"] = message.group
            out.append(
                {
                    "MessageId": message.id,
                    "ReceiptHandle": message.handle,
                    "Body": message.body,
                    "MD5OfBody": _md5(message.body),
                    "Attributes": attributes,
                }
            )
        return {"Messages": out} if out else {}

    def _pick(self, count: int) -> list[FakeMessage]:
        now = self.clock()
        busy = {m.group for m in self.messages.values() if m.visible_at > now} if self.fifo else ()
        picked: list[FakeMessage] = []
        for message in self.messages.values():
            if len(picked) >= count:
                break
            if message.visible_at > now or message.group in busy:
                continue
            picked.append(message)
        return picked

    def _entry(self, operation: str, entry: Mapping[str, Any]) -> str | None:
        """Apply one delete or visibility change; return an error code, or None."""
        handle = entry["ReceiptHandle"]
        message_id = self.by_handle.get(handle)
        if message_id is None:
            return "ReceiptHandleIsInvalid"
        message = self.messages.get(message_id)
        if operation == "DeleteMessage":
            if message is not None:  # deleting twice succeeds, as on SQS
                del self.messages[message_id]
                self.deleted.append(message_id)
                if self.on_delete is not None:
                    self.on_delete(message)
            return None
        if message is None or message.handle != handle:
            return "ReceiptHandleIsInvalid"
        message.visible_at = self.clock() + int(entry["VisibilityTimeout"])
        return None


def fake_connection(transport: MockTransport) -> SQSConnection:
    """A connection over a mock transport (a :class:`FakeSQS`'s), no retries, 0.5 s reads."""
    return SQSConnection(
        "testing",
        "testing",
        region="us-east-1",
        endpoint_url="http://sqs.invalid",
        transport=transport,
        retry=RetryPolicy(max_attempts=1),
        timeouts=Timeouts(read=0.5),
    )


def visibility_changes(fake: FakeSQS, transport: MockTransport) -> dict[str, list[int]]:
    """Body -> the visibility timeouts set on it through ChangeMessageVisibilityBatch."""
    changes: dict[str, list[int]] = {}
    for call in transport.calls:
        if call.operation == "ChangeMessageVisibilityBatch":
            for entry in call.params["Entries"]:
                body = fake.body_of(entry["ReceiptHandle"])
                changes.setdefault(body, []).append(entry["VisibilityTimeout"])
    return changes


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()
