"""A consuming process of the runner: one consumer, its signals, reports to the supervisor.

Layer: the runner's room. Started by the supervisor as ``python -m sqs_async._worker
OPTIONS_JSON FD``; it writes JSON lines to ``FD``: ``ready``, ``fatal`` (a startup error,
then exit code 3) and, with ``--metrics-port``, a ``stats`` snapshot every second.

Signals (the supervisor forwards them; the child runs in its own session, so a terminal's
Ctrl-C reaches it once, through the supervisor):

1. the first SIGTERM or SIGINT stops polling; running handlers get ``--drain-timeout``
   seconds, the rest is released, pending deletes are flushed; exit 0;
2. a second one cancels the running handlers at once (their messages are released); exit 130.

The runner adds nothing per message: no middleware; with ``--metrics-port`` one hook (the
handler-duration histogram) and a statistics snapshot a second.

If the supervisor disappears, the child stops as on a first signal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .._batch_consumer import BatchConsumer
from .._connection import SQSConnection
from .._consumer import Consumer
from .._queue import Queue
from ..errors import QueueDoesNotExist, SQSError
from .logs import configure_logging
from .metrics import DurationHook, snapshot
from .options import StartupError, WorkerOptions, load_handler

__all__ = ["EXIT_FORCED", "EXIT_STARTUP", "REPORT_INTERVAL", "main"]

log = logging.getLogger("sqs_async.worker")

EXIT_STARTUP = 3
EXIT_FORCED = 130
REPORT_INTERVAL = 1.0  # seconds between stats snapshots
PARENT_CHECK_INTERVAL = 1.0


class Child:
    """One consuming process.

    Args:
        options: The runner's options.
        report_fd: The pipe to the supervisor (``None``: report nothing).
    """

    def __init__(self, options: WorkerOptions, report_fd: int | None) -> None:
        self.options = options
        self._fd = report_fd
        self._parent = os.getppid()
        self._signals = 0
        self._consumer: Consumer | None = None

    async def run(self) -> int:
        """Consume until signalled; return the exit code."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.signal, signum)
        try:
            handler = load_handler(self.options.handler)
            async with self._connection() as connection:
                queue = await _find_queue(connection, self.options.queue)
                return await self._consume(queue, handler)
        except StartupError as exc:
            self._send({"event": "fatal", "error": str(exc)})
            return EXIT_STARTUP

    def _connection(self) -> SQSConnection:
        options = self.options
        return SQSConnection(
            region=options.region,
            endpoint_url=options.endpoint_url,
            profile=options.profile or os.environ.get("AWS_PROFILE") or None,
        )

    async def _consume(self, queue: Queue, handler: Any) -> int:
        options = self.options
        hook = DurationHook() if options.metrics_port is not None else None
        common: dict[str, Any] = {
            "concurrency": options.concurrency,
            "visibility_timeout": options.visibility_timeout,
            "max_receives": options.max_receives,
            "drain_timeout": options.drain_timeout,
            "hooks": hook,
        }
        consumer: Consumer
        if options.batch:
            if options.max_wait is not None:
                common["max_wait"] = options.max_wait
            consumer = BatchConsumer(queue, handler, max_batch=options.max_batch, **common)
        else:
            consumer = queue.consumer(handler, **common)
        self._consumer = consumer
        if self._signals:  # signalled while starting up
            consumer.stop()
        self._send({"event": "ready"})
        log.info("consuming %s (pid %d)", queue.name, os.getpid())
        background = [asyncio.create_task(self._watch_parent())]
        if hook is not None:
            background.append(asyncio.create_task(self._report(consumer, hook)))
        try:
            await consumer.run()
        except SQSError as exc:
            log.error("consuming %s stopped: %s", queue.name, exc)  # noqa: TRY400 - one line
            return 1
        finally:
            for task in background:
                task.cancel()
            if hook is not None:
                self._send({"event": "stats", **snapshot(consumer.statistics(), hook)})
        return EXIT_FORCED if self._signals > 1 else 0

    def signal(self, signum: int | None) -> None:
        """A signal arrived (``None``: the supervisor has gone)."""
        self._signals += 1
        name = signal.Signals(signum).name if signum is not None else "supervisor gone"
        if self._consumer is None:  # still starting: it stops as soon as it can
            log.debug("%s while starting", name)
            return
        if self._signals == 1:
            log.info(
                "%s: stopping; running handlers get up to %g s", name, self.options.drain_timeout
            )
            self._consumer.stop()
            return
        log.warning("%s again: stopping at once", name)
        self._consumer.stop_now()

    def _send(self, event: dict[str, Any]) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, json.dumps(event).encode() + b"\n")
        except BlockingIOError:
            pass  # the supervisor is busy: this snapshot is dropped, the next one follows
        except OSError:
            self._fd = None
            if not self._signals:
                self.signal(None)

    async def _report(self, consumer: Consumer, hook: DurationHook) -> None:
        while True:
            self._send({"event": "stats", **snapshot(consumer.statistics(), hook)})
            await asyncio.sleep(REPORT_INTERVAL)

    async def _watch_parent(self) -> None:
        # No event tells a child its parent died; a cheap check a second does.
        while os.getppid() == self._parent:  # noqa: ASYNC110
            await asyncio.sleep(PARENT_CHECK_INTERVAL)
        if not self._signals:
            self.signal(None)


async def _find_queue(connection: SQSConnection, name: str) -> Queue:
    try:
        if name.startswith(("http://", "https://")):
            queue = connection.queue(name)
            await queue.get_attributes("VisibilityTimeout")
            return queue
        found = await connection.get_queue(name)
    except QueueDoesNotExist:
        raise StartupError(f"queue {name!r} does not exist") from None
    except SQSError as exc:
        raise StartupError(f"cannot reach queue {name!r}: {exc}") from None
    if found is None:
        raise StartupError(f"queue {name!r} does not exist")
    return found


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when the ``speedups`` extra is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(argv: Sequence[str] | None = None) -> int:
    """The child process's entry point: ``OPTIONS_JSON [FD]``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    options = WorkerOptions.from_json(args[0])
    fd = int(args[1]) if len(args) > 1 else None
    configure_logging(options.log_level, options.log_format)
    if fd is not None:
        os.set_blocking(fd, False)
    factory = _loop_factory()
    log.debug("event loop: %s", "uvloop" if factory is not None else "asyncio")
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(Child(options, fd).run())
    except Exception:
        log.exception("the worker process failed")
        return 1
