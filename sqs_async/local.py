"""A real SQS-compatible server on a free loopback port, and a pytest plugin that uses it.

The server is moto's (``pip install "sqs_async[local]"``): it speaks both SQS protocols, long
polling, visibility, FIFO and dead-letter queues, but checks no signature and little input, so
any keys work (`TEST_ACCESS_KEY`/`TEST_SECRET_KEY`). ``mode="thread"`` (default) runs it inside
this process: quick to start, for demos and scripts. ``mode="subprocess"`` runs it in a child
process (``python -m sqs_async._local_server``), so moto's CPU work does not compete with the
code under test for the GIL and a hung server can be killed; the pytest plugin uses it.

In both modes moto's SQS backend is serialised (`sqs_async._local_server`): plain moto 5.2.5
loses messages and splits FIFO groups under concurrent receives (docs/compatibility.md). In
thread mode that applies to moto in the whole process while a server runs.

From a shell, ``python -m sqs_async.local [--host H] [--port P] [--mode thread|subprocess]``
serves until Ctrl-C or SIGTERM and prints its endpoint URL on its first line.

Example::

    import asyncio
    import sqs_async
    from sqs_async.local import TEST_ACCESS_KEY, TEST_SECRET_KEY, TEST_REGION, local_sqs

    async def main() -> None:
        async with local_sqs() as endpoint_url, sqs_async.SQSConnection(
            TEST_ACCESS_KEY, TEST_SECRET_KEY, region=TEST_REGION, endpoint_url=endpoint_url
        ) as conn:
            queue = await conn.create_queue("demo")
            await queue.write(queue.new_message("hello"))

    asyncio.run(main())

    # or synchronously:
    with LocalSQSServer(mode="subprocess", log_file="moto.log") as server:
        print(server.endpoint_url)    # http://127.0.0.1:<free port>

Pytest fixtures (registered automatically when sqs_async is installed):
    ``sqs_server`` (session): a started `LocalSQSServer` in subprocess mode; or, when the
    environment variable ``SQS_ASYNC_TEST_ENDPOINT`` is set, an `ExternalSQSServer` for that URL
    (nothing is spawned: point the suite at LocalStack, ElasticMQ or AWS).
    ``sqs_endpoint`` (session): its endpoint URL.
    ``sqs_connection`` (needs pytest-asyncio): an open ``sqs_async.SQSConnection`` to it.
    ``sqs_queue_name``: a factory of unique queue names derived from the test's name::

        async def test_roundtrip(sqs_connection, sqs_queue_name):
            queue = await sqs_connection.create_queue(sqs_queue_name())
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import http.client
import importlib
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, Self

from . import _local_process as _process
from . import _local_server

__all__ = [
    "TEST_ACCESS_KEY",
    "TEST_ENDPOINT_ENV",
    "TEST_REGION",
    "TEST_SECRET_KEY",
    "ExternalSQSServer",
    "LocalSQSServer",
    "QueueNameFactory",
    "ServerMode",
    "local_sqs",
    "main",
]

TEST_ACCESS_KEY = "testing"
"""Access key to use with the local server (moto accepts any)."""
TEST_SECRET_KEY = "testing"
"""Secret key to use with the local server (moto checks no signature)."""
TEST_REGION = "us-east-1"
"""Region to use with the local server. moto's queue URLs carry no region: use one per run."""
TEST_ENDPOINT_ENV = "SQS_ASYNC_TEST_ENDPOINT"
"""Environment variable that points the ``sqs_server`` fixture at an external server."""

ServerMode = Literal["thread", "subprocess"]
"""Where `LocalSQSServer` runs moto: in a thread of this process, or in a child process."""

_INSTALL_HINT = 'moto is not installed: pip install "sqs_async[local]"'
# Serialise moto's SQS backend (see sqs_async._local_server and docs/compatibility.md). Only the
# tests that show what plain moto does under concurrent receives turn this off.
_SAFE = True
_SAFE_SERVER_MODULE = "sqs_async._local_server"
_READY_TIMEOUT = 15.0  # seconds; moto is usually up in about 1 s (2 s on a loaded machine)
_POLL_INTERVAL = 0.05
_PROBE_TIMEOUT = 2.0  # one readiness request; moto's first SQS call loads lazily (~0.4 s)
_PORT_ATTEMPTS = 4  # the first spawn, then up to 3 retries when the free port was taken meanwhile
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"


class _Server(abc.ABC):
    """``with server:`` starts it and stops it."""

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class LocalSQSServer(_Server):
    """moto's SQS-compatible server on a loopback port, started and stopped on demand.

    Usable as a synchronous context manager; `local_sqs` is the asyncio-friendly wrapper.

    Args:
        host: Address to bind. Keep it a loopback address: the server has no authentication.
        port: Port to bind; ``0`` picks a free one.
        mode: ``"thread"`` runs moto inside this process (fast start, shares the GIL);
            ``"subprocess"`` runs it in a child process (``python -m sqs_async._local_server``,
            moto's server with its SQS backend serialised).
        log_file: Subprocess mode only: file that receives moto's output (one line per
            request). Without it the output is discarded and a failed start reports no log.

    Raises:
        ValueError: For an unknown ``mode``, or ``log_file`` with ``mode="thread"`` (moto's
            request log is silenced in that mode).

    Example::

        with LocalSQSServer() as server:
            conn = sqs_async.SQSConnection("testing", "testing", endpoint_url=server.endpoint_url)
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        mode: ServerMode = "thread",
        log_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if mode not in ("thread", "subprocess"):
            raise ValueError(f"mode must be 'thread' or 'subprocess', not {mode!r}")
        if log_file is not None and mode == "thread":
            raise ValueError("log_file is only used with mode='subprocess'")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {port}")
        self._host = host
        self._requested_port = port
        self._mode: ServerMode = mode
        self._log_file = Path(log_file) if log_file is not None else None
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._threaded: Any = None  # a moto.server.ThreadedMotoServer (moto is optional)
        self._log_filter: _process.DropRequestLog | None = None
        self._installed = False  # this thread-mode server serialised moto's SQS backend
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        where = self.endpoint_url if self._port is not None else self._host
        return f"<LocalSQSServer {self._mode} {where} {state}>"

    @property
    def host(self) -> str:
        """The address the server binds."""
        return self._host

    @property
    def port(self) -> int:
        """The port the server listens on (known once `start` returned).

        Raises:
            RuntimeError: If the server was never started.
        """
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return self._port

    @property
    def endpoint_url(self) -> str:
        """The URL to give clients, e.g. ``http://127.0.0.1:54321``.

        Raises:
            RuntimeError: If the server was never started.
        """
        return _process.endpoint_url(self._host, self.port)

    @property
    def mode(self) -> ServerMode:
        """``"thread"`` or ``"subprocess"``."""
        return self._mode

    @property
    def running(self) -> bool:
        """Whether the server was started and not stopped (a crashed child counts as running)."""
        return self._process is not None or self._threaded is not None

    def start(self) -> None:
        """Start the server and block until it answers SQS requests.

        Raises:
            RuntimeError: If it is already running, or it did not become ready within 15 s, or
                its process exited (the message ends with the tail of its log).
            ImportError: If moto is not installed.
        """
        with self._lock:
            if self.running:
                raise RuntimeError("the server is already running")
            if self._mode == "thread":
                self._start_thread()
            else:
                self._start_subprocess()

    def stop(self) -> None:
        """Stop the server and free its port. Does nothing if it is not running."""
        with self._lock:
            process, self._process = self._process, None
            threaded, self._threaded = self._threaded, None
            log_filter, self._log_filter = self._log_filter, None
            installed, self._installed = self._installed, False
            try:
                if process is not None:
                    _process.terminate(process)
                if threaded is not None:
                    _process.stop_threaded(threaded)
            finally:
                if log_filter is not None:
                    logging.getLogger("werkzeug").removeFilter(log_filter)
                if installed:
                    _local_server.uninstall()

    def reset(self) -> None:
        """Forget every queue and message (moto's ``POST /moto-api/reset``, about 10 ms).

        Raises:
            RuntimeError: If the server did not answer 200.
        """
        status = _process.post(self._host, self.port, "/moto-api/reset", b"", {}, timeout=10.0)[0]
        if status != 200:
            raise RuntimeError(f"moto reset answered HTTP {status}")

    # -- thread mode --------------------------------------------------------------------------

    def _start_thread(self) -> None:
        try:
            # Through importlib so that mypy does not type-check all of moto (slow, optional).
            threaded_moto_server = importlib.import_module("moto.server").ThreadedMotoServer
        except ImportError as exc:
            raise ImportError(_INSTALL_HINT) from exc
        # moto binds inside its own thread and, if that fails, leaves start() waiting forever.
        # Binding here first turns a bad host or a busy port into an immediate error.
        _process.check_bindable(self._host, self._requested_port)
        server = threaded_moto_server(
            ip_address=self._host, port=self._requested_port, verbose=False
        )
        safe = _SAFE
        if safe:
            _local_server.install()
        log_filter = _process.DropRequestLog()
        logging.getLogger("werkzeug").addFilter(log_filter)
        port: int | None = None
        try:
            port = _process.run_threaded(server, self._host, self._requested_port, _READY_TIMEOUT)
            _wait_ready(self._host, port, process=None, log_file=None)
        except BaseException:
            logging.getLogger("werkzeug").removeFilter(log_filter)
            if port is not None:
                _process.stop_threaded(server)
            if safe:
                _local_server.uninstall()
            raise
        self._threaded, self._log_filter, self._port = server, log_filter, port
        self._installed = safe

    # -- subprocess mode ----------------------------------------------------------------------

    def _start_subprocess(self) -> None:
        if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
            raise ImportError(_INSTALL_HINT)
        attempts = _PORT_ATTEMPTS if self._requested_port == 0 else 1
        for attempt in range(1, attempts + 1):
            port = self._requested_port or _free_port(self._host)
            process = self._spawn(port)
            try:
                _wait_ready(self._host, port, process=process, log_file=self._log_file)
            except _process.ServerExited as exc:
                _process.terminate(process)
                if attempt < attempts and exc.port_in_use is not False:
                    continue  # another program took the free port before moto bound it
                raise RuntimeError(str(exc)) from None
            except BaseException:
                _process.terminate(process)
                raise
            self._process, self._port = process, port
            return

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        module = _SAFE_SERVER_MODULE if _SAFE else "moto.server"
        command = [sys.executable, "-m", module, "-H", self._host, "-p", str(port)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # The child must import this very sqs_async, installed or not.
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        if self._log_file is None:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        # The child gets its own descriptor; ours is closed as soon as it is spawned.
        with self._log_file.open("wb") as log:
            return subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )


class ExternalSQSServer(_Server):
    """An SQS-compatible server that someone else runs, with `LocalSQSServer`'s interface.

    `start`, `stop` and `reset` do nothing: the server and its state are not ours.

    Args:
        endpoint_url: Its URL, ``http://`` or ``https://``.

    Raises:
        ValueError: If ``endpoint_url`` is not an http(s) URL with a host.
    """

    def __init__(self, endpoint_url: str) -> None:
        parts = urllib.parse.urlsplit(endpoint_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint URL: {endpoint_url!r}")
        self._endpoint_url = endpoint_url.strip().rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)

    def __repr__(self) -> str:
        return f"<ExternalSQSServer {self._endpoint_url}>"

    @property
    def endpoint_url(self) -> str:
        """The URL given at construction, without a trailing slash."""
        return self._endpoint_url

    @property
    def host(self) -> str:
        """The URL's host."""
        return self._host

    @property
    def port(self) -> int:
        """The URL's port (the scheme's default when it has none)."""
        return self._port

    def start(self) -> None:
        """Do nothing: the server is already running elsewhere."""

    def stop(self) -> None:
        """Do nothing: the server is not ours to stop."""

    def reset(self) -> None:
        """Do nothing: the server's state is not ours to wipe."""


@contextlib.asynccontextmanager
async def local_sqs(
    *, mode: ServerMode = "thread", host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run a `LocalSQSServer` for the duration of an ``async with`` block.

    Starting and stopping run in a worker thread, so the event loop keeps running meanwhile.

    Args:
        mode: ``"thread"`` (default) or ``"subprocess"``, as for `LocalSQSServer`.
        host: Address to bind.
        port: Port to bind; ``0`` picks a free one.

    Yields:
        The endpoint URL, e.g. ``http://127.0.0.1:54321``.

    Raises:
        RuntimeError: If the server did not start (see `LocalSQSServer.start`).
        ImportError: If moto is not installed.

    Example::

        async with local_sqs() as endpoint_url:
            async with sqs_async.SQSConnection("testing", "testing",
                                               endpoint_url=endpoint_url) as conn:
                ...
    """
    server = LocalSQSServer(host=host, port=port, mode=mode)
    loop = asyncio.get_running_loop()
    starting = asyncio.ensure_future(asyncio.to_thread(server.start))
    try:
        await asyncio.shield(starting)
    except asyncio.CancelledError:
        # A thread cannot be interrupted: once start() returns, stop what it started. The stop
        # runs on the default executor, which asyncio.run() waits for before it returns.
        def stop_when_started(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is None:
                loop.run_in_executor(None, _stop_quietly, server)

        starting.add_done_callback(stop_when_started)
        raise
    try:
        yield server.endpoint_url
    finally:
        # Cancelling this await would not stop the thread, so the server is stopped either way.
        await asyncio.to_thread(server.stop)


# -- helpers ----------------------------------------------------------------------------------


def _free_port(host: str) -> int:
    """A port that was free a moment ago (someone may take it before we bind it again)."""
    with socket.socket(_process.family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _list_queues_headers() -> dict[str, str]:
    """Headers of a JSON-protocol ListQueues with a well-formed but dummy SigV4 signature.

    moto routes by the credential scope: without ``/sqs/`` in it the request goes to its S3
    backend, which answers 200 too, so a plain GET would report "ready" too early.
    """
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    scope = f"{amz_date[:8]}/{TEST_REGION}/sqs/aws4_request"
    return {
        "Content-Type": _JSON_CONTENT_TYPE,
        "X-Amz-Target": "AmazonSQS.ListQueues",
        "X-Amz-Date": amz_date,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={TEST_ACCESS_KEY}/{scope}, "
            f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={'0' * 64}"
        ),
    }


def _is_ready(host: str, port: int, timeout: float) -> bool:
    try:
        status, media_type = _process.post(
            host, port, "/", b"{}", _list_queues_headers(), timeout=timeout
        )
    except (OSError, http.client.HTTPException):
        return False  # not listening yet, or closed the connection while starting
    return status == 200 and media_type == _JSON_CONTENT_TYPE


def _wait_ready(
    host: str, port: int, *, process: subprocess.Popen[bytes] | None, log_file: Path | None
) -> None:
    """Poll every 50 ms until the server answers ListQueues, for at most 15 s.

    Raises:
        _process.ServerExited: If ``process`` exited first.
        RuntimeError: On the deadline.
    """
    deadline = time.monotonic() + _READY_TIMEOUT
    while True:
        if process is not None and process.poll() is not None:
            tail = _process.log_tail(log_file)
            in_use = None if log_file is None else "in use" in tail.lower()
            why = _process.describe(tail)
            raise _process.ServerExited(
                f"moto's server exited before it answered on {host}:{port}{why}",
                port_in_use=in_use,
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            log = _process.describe(_process.log_tail(log_file)) if process is not None else ""
            raise RuntimeError(
                f"moto's server on {host}:{port} was not ready after {_READY_TIMEOUT:g} s{log}"
            )
        started = time.monotonic()
        if _is_ready(host, port, min(_PROBE_TIMEOUT, remaining)):
            return
        time.sleep(max(0.0, _POLL_INTERVAL - (time.monotonic() - started)))


def _stop_quietly(server: LocalSQSServer) -> None:
    with contextlib.suppress(Exception):
        server.stop()


class QueueNameFactory(Protocol):
    """The ``sqs_queue_name`` fixture: each call returns a new unique queue name."""

    def __call__(self, *, fifo: bool = False) -> str:
        """A name like ``t-test_send-1a2b3c4d`` (``.fifo`` appended if asked), ≤ 80 characters."""
        ...


# The pytest plugin (fixtures ``sqs_server``, ``sqs_endpoint``, ``sqs_queue_name``,
# ``sqs_connection``) lives in ``sqs_async._pytest_plugin``, registered as the ``pytest11``
# entry point ``sqs_async``.


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sqs_async.local``: serve until Ctrl-C or SIGTERM; the endpoint URL is printed
    (and flushed) on the first line of standard output, so a script can read it.

    Returns:
        The exit status: 0 after a clean stop, 1 if the server did not start.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sqs_async.local",
        description="Run a local SQS-compatible server (moto, made safe for concurrent receives).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind (default: a free one, printed)"
    )
    parser.add_argument(
        "--mode",
        choices=["thread", "subprocess"],
        default="thread",
        help="run moto in this process or in a child process (default %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        server = LocalSQSServer(host=args.host, port=args.port, mode=args.mode)
    except ValueError as exc:
        parser.error(str(exc))
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.start()
        except (RuntimeError, ImportError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        try:
            print(server.endpoint_url, flush=True)
            print("serving; Ctrl-C or SIGTERM stops", file=sys.stderr, flush=True)
            while not stop.wait(_POLL_INTERVAL * 20):
                pass  # a timed wait, so that the signal handler runs promptly
        finally:
            server.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
