"""sqs_async.local: the local moto server (both modes), local_sqs() and the pytest plugin."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from race_support import sqs_call

import sqs_async
from sqs_async import _pytest_plugin, local
from sqs_async.local import (
    TEST_ENDPOINT_ENV,
    ExternalSQSServer,
    LocalSQSServer,
    QueueNameFactory,
    ServerMode,
    local_sqs,
)

pytestmark = pytest.mark.integration

DEADLINE = 10.0  # seconds, for anything that must happen "soon"


# -- helpers ----------------------------------------------------------------------------------


def assert_answers_list_queues(endpoint_url: str) -> None:
    status, media_type, body = sqs_call(endpoint_url, "ListQueues", {})
    assert status == 200
    assert media_type == "application/x-amz-json-1.0"
    assert isinstance(body, dict)


def assert_loopback(endpoint_url: str) -> None:
    parts = urlsplit(endpoint_url)
    assert parts.scheme == "http"
    assert parts.hostname is not None
    assert ipaddress.ip_address(parts.hostname).is_loopback
    assert parts.port is not None
    assert parts.port > 0
    assert endpoint_url == f"http://{parts.hostname}:{parts.port}"


def assert_port_free(host: str, port: int) -> None:
    """Nothing listens there any more: a connection is refused and the port can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(DEADLINE)
        assert probe.connect_ex((host, port)) == errno.ECONNREFUSED
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR tolerates TIME_WAIT left by closed connections, but not a listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen()


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port that a listening socket holds for the duration of the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def server_kwargs(mode: ServerMode, tmp_path: Path) -> dict[str, Any]:
    if mode == "subprocess":
        return {"mode": mode, "log_file": tmp_path / "moto.log"}
    return {"mode": mode}


# -- LocalSQSServer ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["thread", "subprocess"])
def test_server_starts_answers_and_frees_its_port(mode: ServerMode, tmp_path: Path) -> None:
    server = LocalSQSServer(**server_kwargs(mode, tmp_path))
    assert not server.running
    server.start()
    try:
        assert server.running
        assert server.mode == mode
        assert server.host == "127.0.0.1"
        assert server.endpoint_url == f"http://127.0.0.1:{server.port}"
        assert_loopback(server.endpoint_url)
        assert_answers_list_queues(server.endpoint_url)
    finally:
        server.stop()
    assert not server.running
    assert_port_free(server.host, server.port)
    server.stop()  # idempotent


@pytest.mark.parametrize("mode", ["thread", "subprocess"])
def test_context_manager_and_reset(mode: ServerMode, tmp_path: Path) -> None:
    with LocalSQSServer(**server_kwargs(mode, tmp_path)) as server:
        status, _, created = sqs_call(server.endpoint_url, "CreateQueue", {"QueueName": "kept"})
        assert status == 200
        assert created["QueueUrl"].endswith("/kept")
        assert sqs_call(server.endpoint_url, "ListQueues", {})[2]["QueueUrls"] == [
            created["QueueUrl"]
        ]
        server.reset()
        assert "QueueUrls" not in sqs_call(server.endpoint_url, "ListQueues", {})[2]
        port = server.port
    assert_port_free("127.0.0.1", port)


def test_subprocess_mode_writes_the_request_log(tmp_path: Path) -> None:
    log_file = tmp_path / "moto.log"
    with LocalSQSServer(mode="subprocess", log_file=log_file) as server:
        assert_answers_list_queues(server.endpoint_url)
    assert "POST / HTTP/1.1" in log_file.read_text()


def test_thread_mode_silences_werkzeug_request_lines(caplog: pytest.LogCaptureFixture) -> None:
    filters_before = list(logging.getLogger("werkzeug").filters)
    with caplog.at_level("INFO", logger="werkzeug"), LocalSQSServer() as server:
        assert_answers_list_queues(server.endpoint_url)
    assert not [r for r in caplog.records if r.name == "werkzeug"]
    assert logging.getLogger("werkzeug").filters == filters_before


def test_start_twice_is_refused() -> None:
    with LocalSQSServer() as server, pytest.raises(RuntimeError, match="already running"):
        server.start()


def test_server_can_be_restarted() -> None:
    server = LocalSQSServer()
    with server:
        first = server.port
    with server:
        assert_answers_list_queues(server.endpoint_url)
    assert_port_free("127.0.0.1", first)
    assert_port_free("127.0.0.1", server.port)


def test_thread_mode_on_a_busy_port_fails_at_once(busy_port: int) -> None:
    server = LocalSQSServer(port=busy_port)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=f"cannot bind 127.0.0.1:{busy_port}"):
        server.start()
    assert time.monotonic() - started < 1.0
    assert not server.running


def test_subprocess_mode_on_a_busy_port_reports_the_log(busy_port: int, tmp_path: Path) -> None:
    server = LocalSQSServer(mode="subprocess", port=busy_port, log_file=tmp_path / "moto.log")
    with pytest.raises(RuntimeError, match="exited before it answered") as raised:
        server.start()
    assert "in use" in str(raised.value)  # the tail of moto's log
    assert not server.running


def test_subprocess_mode_without_a_log_says_so(busy_port: int) -> None:
    with pytest.raises(RuntimeError, match="no log: pass log_file="):
        LocalSQSServer(mode="subprocess", port=busy_port).start()


def test_readiness_gives_up_at_the_deadline(
    busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # busy_port accepts connections (the kernel's backlog) but never answers.
    monkeypatch.setattr(local, "_READY_TIMEOUT", 0.3)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=re.escape("was not ready after 0.3 s")):
        local._wait_ready("127.0.0.1", busy_port, process=None, log_file=None)
    assert time.monotonic() - started < 0.3 + 1.0


def test_subprocess_mode_retries_when_the_free_port_was_taken(
    busy_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_free_port = local._free_port
    handed_out: list[int] = []

    def taken_first(host: str) -> int:
        handed_out.append(busy_port if not handed_out else real_free_port(host))
        return handed_out[-1]

    monkeypatch.setattr(local, "_free_port", taken_first)
    with LocalSQSServer(mode="subprocess", log_file=tmp_path / "moto.log") as server:
        assert handed_out[0] == busy_port
        assert server.port == handed_out[-1] != busy_port
        assert_answers_list_queues(server.endpoint_url)


@pytest.mark.parametrize("mode", ["thread", "subprocess"])
def test_missing_moto_says_what_to_install(
    mode: ServerMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)
    monkeypatch.setitem(sys.modules, "moto.server", None)
    spawned: list[object] = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: spawned.append(a))
    with pytest.raises(ImportError, match=re.escape('pip install "sqs_async[local]"')):
        LocalSQSServer(mode=mode).start()
    assert spawned == []


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be"):
        LocalSQSServer(mode="docker")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="log_file"):
        LocalSQSServer(log_file=tmp_path / "x.log")
    with pytest.raises(ValueError, match="port must be"):
        LocalSQSServer(port=70000)
    with pytest.raises(RuntimeError, match="not been started"):
        _ = LocalSQSServer().endpoint_url


# -- local_sqs() ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["thread", "subprocess"])
async def test_local_sqs_yields_a_working_endpoint(mode: ServerMode) -> None:
    async with local_sqs(mode=mode) as endpoint_url:
        assert_loopback(endpoint_url)
        await asyncio.to_thread(assert_answers_list_queues, endpoint_url)
    assert_port_free("127.0.0.1", urlsplit(endpoint_url).port or 0)


async def test_local_sqs_stops_when_the_block_raises() -> None:
    seen: list[str] = []

    async def fail_inside() -> None:
        async with local_sqs() as endpoint_url:
            seen.append(endpoint_url)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await fail_inside()
    assert_port_free("127.0.0.1", urlsplit(seen[0]).port or 0)


async def test_local_sqs_stops_when_the_block_is_cancelled() -> None:
    entered = asyncio.Event()
    seen: list[str] = []

    async def use_server() -> None:
        async with local_sqs() as endpoint_url:
            seen.append(endpoint_url)
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(use_server())
    async with asyncio.timeout(DEADLINE):
        await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_port_free("127.0.0.1", urlsplit(seen[0]).port or 0)


async def test_local_sqs_cancelled_while_starting_stops_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    in_start = threading.Event()
    release = threading.Event()
    stopped = threading.Event()
    instances: list[LocalSQSServer] = []

    class GatedServer(LocalSQSServer):
        def start(self) -> None:
            instances.append(self)
            in_start.set()
            release.wait(DEADLINE)
            super().start()

        def stop(self) -> None:
            super().stop()
            stopped.set()

    monkeypatch.setattr(local, "LocalSQSServer", GatedServer)

    async def use_server() -> None:
        async with local_sqs():
            pytest.fail("the block must not run")

    task = asyncio.create_task(use_server())
    assert await asyncio.to_thread(in_start.wait, DEADLINE)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()  # start() now completes in its thread; the server must then be stopped
    assert await asyncio.to_thread(stopped.wait, DEADLINE)
    assert not instances[0].running
    assert_port_free("127.0.0.1", instances[0].port)


# -- the pytest plugin ------------------------------------------------------------------------


def test_plugin_is_registered_by_the_entry_point(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.has_plugin("sqs_async")


def test_session_fixtures(
    sqs_server: LocalSQSServer | ExternalSQSServer,
    sqs_endpoint: str,
) -> None:
    assert sqs_endpoint == sqs_server.endpoint_url
    if isinstance(sqs_server, LocalSQSServer):
        assert sqs_server.mode == "subprocess"
        assert sqs_server.running
        assert_loopback(sqs_endpoint)
        assert_answers_list_queues(sqs_endpoint)


def test_sqs_queue_name_is_unique_and_valid(sqs_queue_name: QueueNameFactory) -> None:
    first, second, fifo = sqs_queue_name(), sqs_queue_name(), sqs_queue_name(fifo=True)
    assert len({first, second, fifo}) == 3
    for name in (first, second):
        assert re.fullmatch(r"t-test_sqs_queue_name_is_unique_and_valid-[0-9a-f]{8}", name)
    assert re.fullmatch(r"t-[A-Za-z0-9_-]+-[0-9a-f]{8}\.fifo", fifo)


@pytest.mark.parametrize("label", ["spaces and/slashes [brackets] " * 5, "é"])
def test_sqs_queue_name_is_sanitized_and_short(
    label: str, sqs_queue_name: QueueNameFactory
) -> None:
    for name in (sqs_queue_name(), sqs_queue_name(fifo=True)):
        assert re.fullmatch(r"t-[A-Za-z0-9_-]+-[0-9a-f]{8}(\.fifo)?", name)
        assert len(name) <= 80


def test_session_server_uses_the_external_endpoint_without_spawning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_spawn(*args: object, **kwargs: object) -> None:
        raise AssertionError("nothing may be spawned")

    monkeypatch.setattr(subprocess, "Popen", no_spawn)
    server = _pytest_plugin._session_server(
        tmp_path / "moto.log", {TEST_ENDPOINT_ENV: " http://127.0.0.1:4566/ "}
    )
    assert isinstance(server, ExternalSQSServer)
    with server:
        server.reset()
        assert server.endpoint_url == "http://127.0.0.1:4566"
        assert (server.host, server.port) == ("127.0.0.1", 4566)
    assert ExternalSQSServer("https://sqs.eu-west-1.amazonaws.com").port == 443


def test_session_server_defaults_to_a_local_subprocess(tmp_path: Path) -> None:
    for environ in ({}, {TEST_ENDPOINT_ENV: ""}):
        server = _pytest_plugin._session_server(tmp_path / "moto.log", environ)
        assert isinstance(server, LocalSQSServer)
        assert server.mode == "subprocess"
        assert not server.running


def test_session_server_rejects_a_bad_endpoint(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an http"):
        _pytest_plugin._session_server(tmp_path / "moto.log", {TEST_ENDPOINT_ENV: "localhost:4566"})


async def test_sqs_connection_fixture(
    sqs_connection: sqs_async.SQSConnection, sqs_queue_name: QueueNameFactory
) -> None:
    name = sqs_queue_name()
    queue = await sqs_connection.create_queue(name)
    assert queue.name == name
    assert name in [q.name for q in await sqs_connection.get_all_queues(prefix=name)]
    assert await sqs_connection.delete_queue(queue)


def test_module_imports_without_pytest_or_moto() -> None:
    code = (
        "import sys; sys.modules['pytest'] = None; sys.modules['moto'] = None\n"
        "import sqs_async.local as m\n"
        "assert not hasattr(m, 'sqs_server') and not hasattr(m, 'sqs_connection')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


# -- python -m sqs_async.local ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "stop_signal"),
    [("thread", signal.SIGINT), ("thread", signal.SIGTERM), ("subprocess", signal.SIGTERM)],
)
def test_module_serves_until_stopped(mode: str, stop_signal: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sqs_async.local", "--mode", mode],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()  # flushed at once, before any request
        endpoint_url = first_line.strip()
        assert_loopback(endpoint_url)
        status, _, created = sqs_call(endpoint_url, "CreateQueue", {"QueueName": "cli-made"})
        assert status == 200
        url = created["QueueUrl"]
        assert (
            sqs_call(endpoint_url, "SendMessage", {"QueueUrl": url, "MessageBody": "hi"})[0] == 200
        )
        got = sqs_call(endpoint_url, "ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 1})[2]
        assert [m["Body"] for m in got["Messages"]] == ["hi"]
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out == ""  # nothing after the URL
    assert "Traceback" not in err
    assert_port_free("127.0.0.1", urlsplit(endpoint_url).port or 0)


def test_module_fails_on_a_busy_port(busy_port: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sqs_async.local", "--port", str(busy_port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"cannot bind 127.0.0.1:{busy_port}" in result.stderr


def test_module_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sqs_async.local", "--mode", "docker"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
