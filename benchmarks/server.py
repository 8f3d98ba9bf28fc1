"""A fast in-memory SQS-compatible server for the benchmarks (not for production, no auth).

Run it alone with ``python -m benchmarks.server --port 4566 --cpu 0``; the harness starts it in
its own process pinned to its own core. It speaks HTTP/1.1 with keep-alive straight on an
`asyncio.Protocol` (uvloop when installed), parses only the request line, Content-Length,
X-Amz-Target and Connection, and answers:

* the AWS JSON 1.0 protocol (``X-Amz-Target: AmazonSQS.<Action>``, orjson) used by botocore,
  aiobotocore, boto3 and sqs_async;
* the legacy query protocol (form parameters by GET or POST, XML answers) used by aiosqs;
* ``/__bench/stats`` (request count and the server's own CPU time, so the harness can report
  server CPU per request), ``/__bench/fill`` (load N messages without HTTP),
  ``/__bench/purge``, ``/__bench/drop`` and ``/__bench/count``.
  These admin requests are not counted.

Signatures are not checked. Only loopback addresses are allowed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
import time
from typing import Any

import orjson

from benchmarks._operations import OPERATIONS, LongPoll, Result
from benchmarks._query import parse_request, render_error, render_result
from benchmarks._store import SQSFault, Store
from benchmarks._system import pin_to_cpu

_JSON = b"application/x-amz-json-1.0"
_XML = b"text/xml"
_TARGETS = {f"amazonsqs.{name}".lower().encode(): name for name in OPERATIONS}
_RID_PREFIX = os.urandom(12).hex()
_RID_PREFIX = f"{_RID_PREFIX[:8]}-{_RID_PREFIX[8:12]}-{_RID_PREFIX[12:16]}-{_RID_PREFIX[16:20]}"
_STATUS = {
    200: b"200 OK",
    400: b"400 Bad Request",
    404: b"404 Not Found",
    500: b"500 Internal Server Error",
}


class Server:
    """Shared state of all connections: the store and the counters."""

    def __init__(self, base_url: str) -> None:
        self.store = Store(base_url)
        self.requests = 0
        self.started = time.monotonic()

    def request_id(self) -> str:
        return f"{_RID_PREFIX}-{self.requests:012x}"

    def admin(self, path: bytes, body: bytes) -> Result:
        args: dict[str, Any] = orjson.loads(body) if body else {}
        if path.startswith(b"/__bench/stats"):
            usage = os.times()
            return {
                "requests": self.requests,
                "cpu_s": time.process_time(),
                "user_s": usage.user,
                "system_s": usage.system,
                "queues": len(self.store.queues),
                "messages": sum(len(q.messages) for q in self.store.queues.values()),
            }
        if path.startswith(b"/__bench/fill"):
            queue = self.store.create(args["queue"])
            queue.fill(int(args["count"]), str(args.get("body", "x")))
            return {"QueueUrl": queue.url, "count": len(queue.messages)}
        if path.startswith(b"/__bench/purge"):
            return {"purged": self.store.by_name(args["queue"]).purge()}
        if path.startswith(b"/__bench/drop"):
            known = self.store.queues.get(args["queue"])
            if known is not None:
                self.store.delete(known.url)
            return {}
        if path.startswith(b"/__bench/count"):
            attrs = self.store.by_name(args["queue"]).get_attributes([])
            return {k: int(v) for k, v in attrs.items() if k.startswith("Approximate")}
        raise SQSFault("NotFound", f"no admin path {path!r}")


class HTTPProtocol(asyncio.Protocol):
    """One keep-alive connection; requests are answered in order, one at a time."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.parked: LongPoll | None = None
        self.keep_alive = True
        self._timer: asyncio.Handle | None = None
        self._deadline = 0.0
        self._parked_rid = ""
        self._parked_action: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.parked = None  # a parked waiter sees this and drops itself
        if self._timer is not None:
            self._timer.cancel()

    def data_received(self, data: bytes) -> None:
        self.buffer = self.buffer + data if self.buffer else data
        if self.parked is None:
            self._process()

    def _process(self) -> None:
        buf = self.buffer
        while self.parked is None and self.transport is not None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            line_end = buf.find(b"\r\n")
            request_line = buf[:line_end]
            headers = buf[line_end:end].lower() + b"\r\n"
            at = headers.find(b"\r\ncontent-length:")
            length = int(headers[at + 17 : headers.find(b"\r\n", at + 2)]) if at >= 0 else 0
            total = end + 4 + length
            if len(buf) < total:
                break
            body = buf[end + 4 : total]
            buf = buf[total:]
            if b"\r\ntransfer-encoding:" in headers:
                self.keep_alive = False
                self._write(400, _XML, b"chunked bodies are not supported", "")
                break
            self.keep_alive = b"\r\nconnection: close" not in headers and not request_line.endswith(
                b"HTTP/1.0"
            )
            self._dispatch(request_line, headers, body)
        self.buffer = buf

    def _dispatch(self, request_line: bytes, headers: bytes, body: bytes) -> None:
        at = headers.find(b"\r\nx-amz-target:")
        if at >= 0:
            target = headers[at + 15 : headers.find(b"\r\n", at + 2)].strip()
            self._json(target, body)
            return
        method, _, rest = request_line.partition(b" ")
        path = rest.rpartition(b" ")[0]
        if path.startswith(b"/__bench/"):
            try:
                result = self.server.admin(path, body)
            except (SQSFault, KeyError, ValueError) as exc:
                self._write(400, _JSON, orjson.dumps({"error": str(exc)}), "")
                return
            self._write(200, _JSON, orjson.dumps(result), "")
            return
        query = path.partition(b"?")[2] if method == b"GET" else body
        self._query(query)

    def _json(self, target: bytes, body: bytes) -> None:
        server = self.server
        server.requests += 1
        rid = server.request_id()
        action = _TARGETS.get(target)
        try:
            if action is None:
                raise SQSFault("UnknownOperationException", f"Unknown operation {target!r}")
            params = orjson.loads(body) if body else {}
            if not isinstance(params, dict):
                raise SQSFault("SerializationException", "The request body must be a JSON object")
            result = OPERATIONS[action](server.store, params)
        except SQSFault as fault:
            self._json_error(fault, rid)
            return
        except Exception as exc:
            self._json_error(SQSFault("InternalFailure", repr(exc)), rid, status=500)
            return
        if isinstance(result, LongPoll):
            self._park(result, rid, None)
        else:
            self._write(200, _JSON, orjson.dumps(result), rid)

    def _json_error(self, fault: SQSFault, rid: str, status: int = 400) -> None:
        body = orjson.dumps({"__type": f"com.amazonaws.sqs#{fault.code}", "message": fault.message})
        query_error = f"{fault.query_code};{'Sender' if fault.sender else 'Receiver'}"
        self._write(status, _JSON, body, rid, f"x-amzn-query-error: {query_error}\r\n".encode())

    def _query(self, form: bytes) -> None:
        server = self.server
        server.requests += 1
        rid = server.request_id()
        action = ""
        try:
            action, params = parse_request(form)
            operation = OPERATIONS.get(action)
            if operation is None:
                raise SQSFault(
                    "InvalidAction", f"The action {action} is not valid for this endpoint."
                )
            result = operation(server.store, params)
        except SQSFault as fault:
            body = render_error(fault.query_code, fault.message, rid, sender=fault.sender)
            self._write(400, _XML, body, rid)
            return
        except Exception as exc:
            self._write(
                500, _XML, render_error("InternalFailure", repr(exc), rid, sender=False), rid
            )
            return
        if isinstance(result, LongPoll):
            self._park(result, rid, action)
        else:
            self._write(200, _XML, render_result(action, result, rid), rid)

    def _park(self, poll: LongPoll, rid: str, query_action: str | None) -> None:
        """Hold a ReceiveMessage until a message arrives or its wait time ends."""
        self.parked = poll
        self._parked_rid = rid
        self._parked_action = query_action
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + poll.wait_seconds
        waiters = poll.queue.waiters
        if len(waiters) > 64:  # drop waiters of polls that were answered or whose client left
            live = [w for w in waiters if not getattr(w, "stale", False)]
            waiters.clear()
            waiters.extend(live)
        waiters.append(_Waiter(self, poll))
        self._timer = loop.call_soon(self._tick)

    def _tick(self) -> None:
        # Messages can also become visible by time (a delay or a visibility timeout ending).
        self._timer = None
        poll = self.parked
        if poll is None or _Waiter(self, poll)():
            return
        loop = asyncio.get_running_loop()
        remaining = self._deadline - loop.time()
        if remaining <= 0:
            self._answer([])
            return
        event = poll.queue.next_event()
        if event is not None:
            remaining = min(remaining, max(event - time.monotonic(), 0.0) + 0.001)
        self._timer = loop.call_later(remaining, self._tick)

    def _answer(self, messages: list[Any]) -> None:
        poll = self.parked
        assert poll is not None
        self.parked = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        result = poll.render(messages)
        if self._parked_action is None:
            self._write(200, _JSON, orjson.dumps(result), self._parked_rid)
        else:
            body = render_result(self._parked_action, result, self._parked_rid)
            self._write(200, _XML, body, self._parked_rid)
        self._process()  # requests that arrived meanwhile

    def _write(self, status: int, ctype: bytes, body: bytes, rid: str, extra: bytes = b"") -> None:
        transport = self.transport
        if transport is None:
            return
        close = b"" if self.keep_alive else b"Connection: close\r\n"
        transport.write(
            b"HTTP/1.1 %s\r\nContent-Type: %s\r\nx-amzn-RequestId: %s\r\n%s%s"
            b"Content-Length: %d\r\n\r\n%s"
            % (
                _STATUS.get(status, b"400 Bad Request"),
                ctype,
                rid.encode(),
                extra,
                close,
                len(body),
                body,
            )
        )
        if not self.keep_alive:
            transport.close()
            self.transport = None


class _Waiter:
    """A parked ReceiveMessage, called by the queue when messages may be there."""

    __slots__ = ("poll", "protocol")

    def __init__(self, protocol: HTTPProtocol, poll: LongPoll) -> None:
        self.protocol = protocol
        self.poll = poll

    @property
    def stale(self) -> bool:
        return self.protocol.parked is not self.poll

    def __call__(self) -> bool:
        """Answer the poll if messages are there; True when this waiter is finished."""
        if self.stale:
            return True
        poll = self.poll
        messages = poll.queue.receive(poll.max_messages, poll.visibility_timeout)
        if not messages:
            return False
        self.protocol._answer(messages)
        return True


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


async def serve(host: str, port: int, max_seconds: float) -> None:
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the benchmark server binds to loopback addresses only")
    loop = asyncio.get_running_loop()
    holder: dict[str, Server] = {}
    server = await loop.create_server(lambda: HTTPProtocol(holder["server"]), host, port)
    bound = server.sockets[0].getsockname()[1]
    holder["server"] = Server(f"http://{host}:{bound}")
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def collect() -> None:
        # The automatic collector is off (the store holds no cycles); young objects are
        # collected here now and then so that a full pass never lands in the middle of a run.
        while True:
            await asyncio.sleep(5)
            gc.collect(1)

    collector = asyncio.create_task(collect())
    print(f"READY {bound}", flush=True)
    try:
        async with asyncio.timeout(max_seconds):  # the server always stops by itself
            await stop.wait()
    except TimeoutError:
        print("benchmark server: --max-seconds reached, stopping", file=sys.stderr)
    finally:
        collector.cancel()
        server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=0, help="0 picks a free port (printed as READY <port>)"
    )
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this core")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args(argv)
    pin_to_cpu(args.cpu)
    kind = args.loop
    if kind == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            kind = "asyncio"
    gc.disable()
    with asyncio.Runner(loop_factory=lambda: new_event_loop(kind)) as runner:
        runner.run(serve(args.host, args.port, args.max_seconds))


if __name__ == "__main__":
    main()
