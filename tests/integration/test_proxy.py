"""Both transports through a forward proxy on loopback, to the local SQS server (issue 11).

The proxy is written here: absolute-form requests for http endpoints, ``CONNECT`` tunnels
for https ones, optional Basic credentials (407 without them), and its own name table, so
that ``sqs.proxy-only.test`` resolves only through it (to 127.0.0.1; it never asks DNS,
and no test makes the client look that name up). An https endpoint is a TLS front, with a
certificate from a throwaway CA, before the moto server. What the proxy saw is recorded
and asserted on, as are the calls' results.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yarl
from http_support import CA

from sqs_async import ConnectError, SQSConnection, ValidationError
from sqs_async.local import TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, QueueNameFactory

pytestmark = pytest.mark.integration

PROXY_ONLY = "sqs.proxy-only.test"
KINDS = ["http11", "aiohttp"]
USER, PASSWORD = "svc-user", "p@ss:w0rd/secret"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> Any:
    return request.param


@dataclass
class Seen:
    method: str
    target: str
    authorization: str | None


@dataclass
class ForwardProxy:
    """A forward proxy for tests: absolute form and CONNECT, its own name table."""

    names: dict[str, str]
    credentials: tuple[str, str] | None = None
    seen: list[Seen] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def url(self, *, user: str | None = None, password: str | None = None) -> str:
        if user is None:
            return f"http://127.0.0.1:{self.port}"
        return str(yarl.URL.build(
            scheme="http", host="127.0.0.1", port=self.port, user=user, password=password
        ))  # fmt: skip

    async def start(self, tls: ssl.SSLContext | None = None) -> ForwardProxy:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        await _abort_all(self._writers, self._tasks)

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.credentials is None:
            return True
        token = base64.b64encode(":".join(self.credentials).encode()).decode()
        return headers.get("proxy-authorization") == f"Basic {token}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        self.seen.append(Seen(method, target, headers.get("proxy-authorization")))
        if not self._authorized(headers):
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                b"Connection: close\r\n\r\n"
            )
            await writer.drain()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
        else:
            url = yarl.URL(target)
            host, port = url.raw_host or "", str(url.port)
        address = self.names.get(host)
        if address is None:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        up_reader, up_writer = await asyncio.open_connection(address, int(port))
        self._writers.add(up_writer)
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:  # forward this request in origin form, then the answer until it closes
                url = yarl.URL(target)
                kept = [line for line in lines[1:] if line and not line.lower().startswith(
                    ("proxy-authorization:", "proxy-connection:")
                )]  # fmt: skip
                first = f"{method} {url.raw_path_qs} HTTP/1.1\r\n"
                up_writer.write(("\r\n".join([first.rstrip(), *kept]) + "\r\n\r\n").encode())
                length = int(headers.get("content-length", "0"))
                up_writer.write(await reader.readexactly(length))
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._writers.discard(up_writer)
            up_writer.close()


async def _abort_all(writers: set[asyncio.StreamWriter], tasks: set[asyncio.Task[None]]) -> None:
    """End every relay: abort its sockets (the handlers then finish on their own)."""
    for writer in list(writers):
        writer.transport.abort()
    if tasks:
        await asyncio.wait(list(tasks), timeout=10)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


@contextlib.asynccontextmanager
async def tls_front(target_port: int, ca: CA) -> AsyncIterator[int]:
    """A TLS endpoint for ``PROXY_ONLY`` before the plain-HTTP server on ``target_port``."""
    context = ca.issue(PROXY_ONLY).server_context()
    tasks: set[asyncio.Task[None]] = set()
    writers: set[asyncio.StreamWriter] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
            writers.add(up_writer)
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            finally:
                writers.discard(up_writer)
                up_writer.close()
        except (ConnectionError, OSError):
            pass
        finally:
            tasks.discard(task)
            writers.discard(writer)
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await _abort_all(writers, tasks)


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    p = await ForwardProxy({PROXY_ONLY: "127.0.0.1"}).start()
    yield p
    await p.stop()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def port_of(url: str) -> int:
    return yarl.URL(url).port or 80


def connection(endpoint: str, kind: Any, **kwargs: Any) -> SQSConnection:
    return SQSConnection(
        TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint,
        transport=kind, **kwargs,
    )  # fmt: skip


async def round_trip(conn: SQSConnection, name: str) -> None:
    async with conn:
        queue = await conn.create_queue(name)
        await queue.write(queue.new_message("through the proxy"))
        got = await queue.get_messages(1, wait_time_seconds=1)
        assert [m.get_body() for m in got] == ["through the proxy"]
        await conn.delete_queue(queue, force=True)


async def test_an_http_endpoint_goes_through_the_proxy_in_absolute_form(
    kind: Any, proxy: ForwardProxy, sqs_endpoint: str, sqs_queue_name: QueueNameFactory,
    no_proxy_env: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    endpoint = f"http://{PROXY_ONLY}:{port_of(sqs_endpoint)}/"
    await round_trip(connection(endpoint, kind, proxies={"http": proxy.url()}), sqs_queue_name())
    assert proxy.seen
    assert {s.method for s in proxy.seen} == {"POST"}
    assert {s.target for s in proxy.seen} == {endpoint}  # absolute form
    assert all(s.authorization is None for s in proxy.seen)


async def test_an_https_endpoint_goes_through_a_connect_tunnel_from_the_environment(
    kind: Any, proxy: ForwardProxy, sqs_endpoint: str, sqs_queue_name: QueueNameFactory,
    no_proxy_env: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    ca = CA(tmp_path)
    async with tls_front(port_of(sqs_endpoint), ca) as port:
        no_proxy_env.setenv("HTTPS_PROXY", proxy.url())
        no_proxy_env.setenv("NO_PROXY", "localhost,.internal.example")
        endpoint = f"https://{PROXY_ONLY}:{port}/"
        await round_trip(connection(endpoint, kind, verify=str(ca.cert)), sqs_queue_name())
    assert proxy.seen
    assert {(s.method, s.target) for s in proxy.seen} == {("CONNECT", f"{PROXY_ONLY}:{port}")}


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_proxy_credentials_come_from_the_url_and_never_show(
    kind: Any, scheme: str, proxy: ForwardProxy, sqs_endpoint: str,
    sqs_queue_name: QueueNameFactory, no_proxy_env: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    proxy.credentials = (USER, PASSWORD)
    ca = CA(tmp_path)
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    async with contextlib.AsyncExitStack() as stack:
        if scheme == "https":
            port = await stack.enter_async_context(tls_front(port_of(sqs_endpoint), ca))
        else:
            port = port_of(sqs_endpoint)
        endpoint = f"{scheme}://{PROXY_ONLY}:{port}/"
        good = proxy.url(user=USER, password=PASSWORD)
        assert PASSWORD not in good  # percent-encoded in the URL
        conn = connection(endpoint, kind, proxies={scheme: good}, verify=str(ca.cert))
        await round_trip(conn, sqs_queue_name())
        assert proxy.seen
        assert {s.authorization for s in proxy.seen} == {expected}

        bad = proxy.url(user=USER, password="wrong-secret")
        async with connection(endpoint, kind, proxies={scheme: bad}, verify=str(ca.cert)) as conn:
            with pytest.raises(ConnectError, match="407") as caught:
                await conn.list_queues()
    for text in (str(caught.value), repr(caught.value), repr(caught.value.args)):
        assert "wrong-secret" not in text
        assert "d3JvbmctC2VjcmV0" not in text


async def test_no_proxy_sends_matching_hosts_directly(
    kind: Any, proxy: ForwardProxy, sqs_endpoint: str, sqs_queue_name: QueueNameFactory,
    no_proxy_env: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    no_proxy_env.setenv("http_proxy", proxy.url())
    no_proxy_env.setenv("no_proxy", f"example.com,127.0.0.1:{port_of(sqs_endpoint)}")
    await round_trip(connection(sqs_endpoint, kind), sqs_queue_name())
    assert proxy.seen == []
    # the same settings without the exception: through the proxy (which knows 127.0.0.1 too)
    proxy.names["127.0.0.1"] = "127.0.0.1"
    no_proxy_env.setenv("no_proxy", "example.com")
    await round_trip(connection(sqs_endpoint, kind), sqs_queue_name())
    assert proxy.seen
    assert {s.target.rstrip("/") for s in proxy.seen} == {sqs_endpoint.rstrip("/")}


async def test_a_malformed_proxy_url_is_a_validation_error(kind: Any) -> None:
    conn = connection("https://127.0.0.1:1/", kind, proxies={"https": "http://[::1"})
    with pytest.raises(ValidationError, match="proxy"):
        await conn.open()
    await conn.close()
    with pytest.raises(ValidationError, match="proxies"):
        connection("https://127.0.0.1:1/", kind, proxies={"https": 3128})


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_an_https_proxy_is_verified_with_the_proxy_ca_bundle(
    kind: Any, scheme: str, sqs_endpoint: str, sqs_queue_name: QueueNameFactory,
    tmp_path: Path,
) -> None:  # fmt: skip
    endpoint_ca, proxy_ca = CA(tmp_path, "endpoint CA"), CA(tmp_path, "proxy CA")
    tls_proxy = ForwardProxy({PROXY_ONLY: "127.0.0.1"})
    await tls_proxy.start(proxy_ca.issue("127.0.0.1").server_context())
    try:
        async with contextlib.AsyncExitStack() as stack:
            if scheme == "https":  # TLS to the endpoint inside TLS to the proxy
                port = await stack.enter_async_context(
                    tls_front(port_of(sqs_endpoint), endpoint_ca)
                )
            else:
                port = port_of(sqs_endpoint)
            endpoint = f"{scheme}://{PROXY_ONLY}:{port}/"
            proxies = {scheme: tls_proxy.url().replace("http://", "https://")}
            options: dict[str, Any] = {"proxies": proxies, "verify": str(endpoint_ca.cert)}
            async with connection(endpoint, kind, **options) as conn:
                with pytest.raises(ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
                    await conn.list_queues()  # the proxy's CA is not the endpoint's
            assert tls_proxy.seen == []
            conn = connection(
                endpoint, kind, proxies_config={"proxy_ca_bundle": str(proxy_ca.cert)}, **options
            )
            await round_trip(conn, sqs_queue_name())
        method = "CONNECT" if scheme == "https" else "POST"
        assert {s.method for s in tls_proxy.seen} == {method}
    finally:
        await tls_proxy.stop()


def test_a_connect_tunnel_works_on_uvloop(
    sqs_endpoint: str, sqs_queue_name: QueueNameFactory, no_proxy_env: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    # uvloop's start_tls takes over the proxy connection's transport: the TLS session to
    # the endpoint runs inside the tunnel there too (the speedups extra installs uvloop).
    uvloop = pytest.importorskip("uvloop")
    ca = CA(tmp_path)

    async def main() -> ForwardProxy:
        p = await ForwardProxy({PROXY_ONLY: "127.0.0.1"}).start()
        try:
            async with tls_front(port_of(sqs_endpoint), ca) as port:
                endpoint = f"https://{PROXY_ONLY}:{port}/"
                conn = connection(
                    endpoint, "http11", verify=str(ca.cert), proxies={"https": p.url()}
                )
                await round_trip(conn, sqs_queue_name())
        finally:
            await p.stop()
        assert asyncio.get_running_loop().__class__.__module__.startswith("uvloop")
        return p

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        seen = runner.run(main()).seen
    assert seen
    assert {s.method for s in seen} == {"CONNECT"}
