"""The supervisor: N consuming processes, signals forwarded, crashes restarted with backoff.

Layer: the runner's room, the top of it. What it does:

* starts ``--processes`` children (``child.py``), each in its own session, so a signal
  reaches a child once: forwarded by the supervisor;
* restarts a child that exits on its own, after a backoff (0.25 s doubling to 10 s); a
  child that keeps crashing (5 times within 60 s) makes the supervisor stop the others and
  exit 1; a startup error a child reports (bad handler, missing queue, refused
  credentials) stops everything at once, printed as one line;
* serves ``/metrics`` and ``/healthz`` from the children's reports (``--metrics-port``);
* on SIGTERM/SIGINT forwards the signal and waits for every child (exit 0); a second
  signal is forwarded too (the children cancel their handlers) and stragglers are killed
  after 10 s (exit 130).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator

from .child import EXIT_FORCED, REPORT_INTERVAL
from .endpoints import Endpoints
from .metrics import Metrics
from .options import StartupError, WorkerOptions

__all__ = ["Supervisor"]

log = logging.getLogger("sqs_async.worker")

RESTART_BACKOFF = 0.25
MAX_RESTART_BACKOFF = 10.0
MAX_CRASHES = 5
CRASH_WINDOW = 60.0
STABLE_AFTER = 30.0  # a child that ran this long starts the backoff afresh
KILL_AFTER = 10.0  # after a second signal, children still running then are killed


class Supervisor:
    """Runs the worker processes until signalled.

    Args:
        options: The runner's options.
    """

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self.failure: str | None = None
        self.port: int | None = None
        self._signals = 0
        self._stopping = False
        self._stop: asyncio.Event | None = None
        self._children: dict[int, asyncio.subprocess.Process] = {}
        self._ready: set[int] = set()
        self._announced = False
        self._unclean: list[str] = []
        self.metrics = (
            Metrics(options.queue_name, options.processes, REPORT_INTERVAL)
            if options.metrics_port is not None
            else None
        )

    async def run(self) -> int:
        """Supervise until stopped; return the exit code (``failure`` says why, if 1)."""
        self._stop = asyncio.Event()
        endpoints = await self._serve() if self.metrics is not None else None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.signal, signum)
        try:
            async with asyncio.TaskGroup() as group:
                for slot in range(self.options.processes):
                    group.create_task(self._keep(slot))
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            if endpoints is not None:
                await endpoints.aclose()
        if self.failure is not None:
            return 1
        if self._signals > 1:
            return EXIT_FORCED
        if self._unclean:
            self.failure = "; ".join(self._unclean)
            return 1
        log.info("stopped")
        return 0

    async def _serve(self) -> Endpoints:
        assert self.metrics is not None
        options = self.options
        endpoints = Endpoints(self.metrics, lambda: self._stopping)
        try:
            self.port = await endpoints.start(options.metrics_host, options.metrics_port or 0)
        except OSError as exc:
            raise StartupError(
                f"cannot serve metrics on {options.metrics_host}:{options.metrics_port}: "
                f"{exc.strerror or exc}"
            ) from None
        log.info("metrics on http://%s:%d/metrics and /healthz", options.metrics_host, self.port)
        return endpoints

    def signal(self, signum: int) -> None:
        """SIGTERM/SIGINT: forward it; the first drains, the second stops at once."""
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            log.info(
                "%s: stopping; running handlers get up to %g s", name, self.options.drain_timeout
            )
        else:
            log.warning("%s again: stopping at once", name)
            asyncio.get_running_loop().call_later(KILL_AFTER, self._kill)
        self._stopping = True
        assert self._stop is not None
        self._stop.set()
        for process in list(self._children.values()):
            _send(process, signum)

    def _fail(self, message: str) -> None:
        if self.failure is None:
            self.failure = message
        if not self._stopping:
            self._stopping = True
            assert self._stop is not None
            self._stop.set()
            for process in list(self._children.values()):
                _send(process, signal.SIGTERM)

    def _kill(self) -> None:
        for process in list(self._children.values()):
            _send(process, signal.SIGKILL)

    async def _keep(self, slot: int) -> None:
        """Keep one child running until stopping; restart it when it crashes."""
        crashes: collections.deque[float] = collections.deque()
        backoff = RESTART_BACKOFF
        while not self._stopping:
            started = time.monotonic()
            code, fatal = await self._run_child(slot)
            if fatal is not None:
                self._fail(fatal)
                return
            if self._stopping:
                if code not in (0, EXIT_FORCED, -signal.SIGTERM, -signal.SIGINT):
                    self._unclean.append(f"worker process {slot} exited with {_describe(code)}")
                return
            now = time.monotonic()
            if now - started >= STABLE_AFTER:
                backoff = RESTART_BACKOFF
            crashes.append(now)
            while now - crashes[0] > CRASH_WINDOW:
                crashes.popleft()
            if len(crashes) >= MAX_CRASHES:
                self._fail(
                    f"worker process {slot} crashed {len(crashes)} times within "
                    f"{CRASH_WINDOW:g} s (last: {_describe(code)}); giving up"
                )
                return
            log.warning(
                "worker process %d exited with %s; restarting in %g s",
                slot,
                _describe(code),
                backoff,
            )
            assert self._stop is not None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._stop.wait()
            backoff = min(backoff * 2, MAX_RESTART_BACKOFF)

    async def _run_child(self, slot: int) -> tuple[int, str | None]:
        """Start one child, follow its reports until it exits; return (exit code, fatal)."""
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "sqs_async._worker",
                self.options.to_json(),
                str(write_fd),
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._children[slot] = process
        if self._stopping:  # a signal came while it was starting
            _send(process, signal.SIGTERM)
        fatal = None
        try:
            async for event in _events(read_fd):
                kind = event.get("event")
                if kind == "stats" and self.metrics is not None:
                    self.metrics.report(slot, event)
                elif kind == "ready":
                    self._child_ready(slot)
                elif kind == "fatal":
                    fatal = str(event.get("error"))
            code = await process.wait()
        except BaseException:
            _send(process, signal.SIGKILL)
            raise
        finally:
            self._children.pop(slot, None)
            self._ready.discard(slot)
            if self.metrics is not None:
                self.metrics.retire(slot)
        return code, fatal

    def _child_ready(self, slot: int) -> None:
        self._ready.add(slot)
        if not self._announced and len(self._ready) == self.options.processes:
            self._announced = True
            log.info(
                "%d worker process%s consuming %s",
                self.options.processes,
                "" if self.options.processes == 1 else "es",
                self.options.queue_name,
            )


async def _events(fd: int) -> AsyncIterator[dict[str, object]]:
    """The JSON lines a child writes to its report pipe, until it closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    pipe = os.fdopen(fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while line := await reader.readline():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event
    finally:
        transport.close()


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


def _send(process: asyncio.subprocess.Process, signum: int) -> None:
    """Signal a child that has not been seen to exit.

    Not ``process.send_signal()``: it polls first, and that ``waitpid`` reaps a child that
    has just exited behind asyncio's child watcher, which then logs "Unknown child process
    pid ..." and reports exit code 255 instead of the real one.
    """
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)
