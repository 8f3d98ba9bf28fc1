"""The ``sqs-async`` command line (also ``python -m sqs_async``).

Layer: the very top; a thin shell over the public API. The arguments are parsed by
``_cli_args`` (global options as in the AWS CLI). Exit codes: 0 success, 1 an error (one line
on stderr), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Any

from . import _bulk, _records
from ._cli_args import PROG, parser
from ._connection import SQSConnection
from ._message import Message
from ._queue import Queue
from .errors import PartialBatchFailure, QueueDoesNotExist, QueueNotEmpty, SQSError

__all__ = ["main"]


class Progress:
    """A progress line with count and rate on a terminal; silent when piped."""

    def __init__(self, label: str, stream: IO[str] | None = None, *, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.count = 0
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, n: int) -> None:
        self.count += n
        now = time.monotonic()
        if self.enabled and now - self._last >= 0.1:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.count / max(now - self.started, 1e-9)
        self.stream.write(f"\r{self.label}: {self.count:,} messages ({rate:,.0f}/s)")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final line and end it."""
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()


class CLIError(Exception):
    """An error to print as one line on stderr (and, with ``--output json``, as a JSON object
    on stdout together with ``data``)."""

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.data = data or {}


def _why(error: SQSError) -> dict[str, Any]:
    """The service's code and message of an error (code ``None`` for client-side ones)."""
    return {"code": error.code, "message": error.message or str(error)}


def _why_text(error: SQSError) -> str:
    why = _why(error)
    return f"{why['code']}: {why['message']}" if why["code"] else why["message"]


class App:
    """One command's run: the parsed arguments, the connection, and output."""

    def __init__(self, args: argparse.Namespace, out: IO[str], err: IO[str]) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.json = args.output == "json"

    def connection(self) -> SQSConnection:
        return SQSConnection(
            region=self.args.region,
            endpoint_url=self.args.endpoint_url,
            profile=self.args.profile or os.environ.get("AWS_PROFILE") or None,
        )

    def emit(self, text: str, data: Any) -> None:
        if self.json:
            self.out.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            self.out.write(text + "\n")

    def progress(self, label: str) -> Progress:
        return Progress(label, self.err)

    async def queue(self, conn: SQSConnection, name: str) -> Queue:
        if name.startswith(("http://", "https://")):
            return conn.queue(name)
        queue = await conn.get_queue(name)
        if queue is None:
            raise CLIError(f"queue {name!r} does not exist")
        return queue

    async def run(self) -> int:
        handler: Callable[[SQSConnection], Any] = getattr(self, f"cmd_{self.args.command}")
        async with self.connection() as conn:
            result: int = await handler(conn) or 0
        return result

    # -- commands -------------------------------------------------------------------------

    async def cmd_queues(self, conn: SQSConnection) -> None:
        queues = await conn.get_all_queues(self.args.prefix)
        if self.json:
            self.emit("", [{"name": q.name, "url": q.url} for q in queues])
        else:
            for queue in queues:
                self.out.write(f"{queue.name}\t{queue.url}\n")

    async def cmd_create(self, conn: SQSConnection) -> None:
        name = self.args.name
        if self.args.fifo and not name.endswith(".fifo"):
            name += ".fifo"
        queue = await conn.create_queue(
            name, self.args.visibility_timeout, attributes=dict(self.args.attribute)
        )
        self.emit(queue.url, {"name": queue.name, "url": queue.url})

    async def cmd_delete(self, conn: SQSConnection) -> None:
        queue = await self.queue(conn, self.args.name)
        try:
            await conn.delete_queue(queue, force=self.args.force)
        except QueueNotEmpty as exc:
            raise CLIError(f"{exc.message.partition(';')[0]}; use --force to delete it") from exc
        self.emit(f"deleted {queue.name}", {"deleted": queue.url})

    async def cmd_send(self, conn: SQSConnection) -> None:
        queue = await self.queue(conn, self.args.name)
        body = self.args.body
        if body == "-":
            body = await asyncio.to_thread(sys.stdin.read)
        attributes = dict(self.args.attribute) or None
        if self.args.lines:
            if self.args.deduplication_id:
                raise CLIError("--deduplication-id cannot apply to --lines (one id per message)")
            bodies = [line for line in body.splitlines() if line]
            messages = [Message(b, message_attributes=attributes) for b in bodies]
            result = await queue.write_batch(
                messages, delay_seconds=self.args.delay, group_id=self.args.group_id
            )
            for entry in result.failed:
                self.err.write(f"{PROG}: not sent: {entry.error}\n")
            ids = [e.message_id for e in result.successful]
            self.emit("\n".join(i or "" for i in ids), {"sent": ids})
            if result.failed:
                raise CLIError(f"{len(result.failed)} of {len(messages)} messages were not sent")
            return
        message = await queue.write(
            Message(body),
            delay_seconds=self.args.delay,
            message_attributes=attributes,
            group_id=self.args.group_id,
            deduplication_id=self.args.deduplication_id,
        )
        self.emit(message.id or "", {"id": message.id, "md5": message.md5})

    def _message_data(self, message: Message) -> dict[str, Any]:
        attributes = {}
        for name, value in message.message_attributes.items():
            attributes[name] = value.get("StringValue", value.get("BinaryValue", b"").hex())
        return {
            "id": message.id,
            "body": message.get_body_encoded(),
            "attributes": message.attributes,
            "message_attributes": attributes,
        }

    def _print_message(self, message: Message, as_json: bool) -> None:
        if as_json:
            self.out.write(json.dumps(self._message_data(message), ensure_ascii=False) + "\n")
        else:
            self.out.write(message.get_body_encoded() + "\n")
        self.out.flush()

    async def cmd_receive(self, conn: SQSConnection) -> None:
        queue = await self.queue(conn, self.args.name)
        messages = await queue.get_messages(
            self.args.number, self.args.visibility_timeout, wait_time_seconds=self.args.wait
        )
        for message in messages:
            self._print_message(message, self.json)
        if self.args.delete and messages:
            await queue.delete_message_batch(messages)

    async def cmd_tail(self, conn: SQSConnection) -> None:
        queue = await self.queue(conn, self.args.name)
        seen: set[str] = set()
        limit = self.args.max_messages
        as_json = self.args.json or self.json

        async def show(message: Message) -> bool:
            """Print a message once; return whether the limit is reached."""
            if message.id in seen:  # without --delete a message may come back: once is enough
                return False
            seen.add(message.id or "")
            self._print_message(message, as_json)
            if self.args.delete:
                await message.delete()
            return limit is not None and len(seen) >= limit

        if limit is not None:
            # Receive no further ahead than the limit, so no long poll is left running.
            while True:
                batch = await queue.get_messages(
                    min(10, limit - len(seen)),
                    self.args.visibility_timeout,
                    wait_time_seconds=self.args.wait,
                )
                for message in batch:
                    if await show(message):
                        return
        async with queue.messages(
            wait_time_seconds=self.args.wait, visibility_timeout=self.args.visibility_timeout
        ) as stream:
            async for message in stream:
                await show(message)

    async def cmd_count(self, conn: SQSConnection) -> None:
        queue = await self.queue(conn, self.args.name)
        count = await queue.count(include_in_flight=self.args.all)
        self.emit(str(count), {"name": queue.name, "count": count})

    async def cmd_purge(self, conn: SQSConnection) -> None:
        queue = await self.queue(conn, self.args.name)
        await queue.purge()
        self.emit(f"purged {queue.name}", {"purged": queue.url})

    async def cmd_clear(self, conn: SQSConnection) -> None:
        queue = await self.queue(conn, self.args.name)
        progress = self.progress(f"clear {queue.name}")
        try:
            count = await queue.clear(progress=progress)
        finally:
            progress.close()
        self.emit(f"deleted {count} messages", {"deleted": count})

    async def cmd_dump(self, conn: SQSConnection) -> None:
        queue = await self.queue(conn, self.args.name)
        progress = self.progress(f"dump {queue.name}")
        try:
            if self.args.raw:
                count = await queue.dump(self.args.file, self.args.sep, progress=progress)
            else:
                count = await _bulk.dump(queue, self.args.file, "\n", progress, jsonl=True)
        finally:
            progress.close()
        self.emit(f"wrote {count} messages to {self.args.file}", {"written": count})

    async def cmd_load(self, conn: SQSConnection) -> None:
        records: list[_records.Record] = self.args.records  # read and checked by _prepare
        queue = await self.queue(conn, self.args.name)
        progress = self.progress(f"load {queue.name}")
        try:
            report = await _bulk.load_records(queue, records, progress, group_id=self.args.group_id)
        finally:
            progress.close()
        if report.resume is None:
            self.emit(f"sent {report.written} messages", {"sent": report.written})
            return
        for record, error in report.failed:
            self.err.write(f"{PROG}: {record.where()}: not sent: {_why_text(error)}\n")
        first = min((record for record, _ in report.failed), key=lambda r: r.index)
        message = (
            f"load stopped at {first.where()}: {report.written} messages were sent; "
            f"resume with --skip {report.resume}"
        )
        if report.written_after_failure:
            sent_after = ", ".join(r.where() for r in report.written_after_failure)
            message += f" (already sent after it, and so sent again on resume: {sent_after})"
        raise CLIError(
            message,
            {
                "sent": report.written,
                "resume_skip": report.resume,
                "failed": [
                    {"index": r.index, "line": r.line, **_why(error)} for r, error in report.failed
                ],
                "sent_after_failure": [r.index for r in report.written_after_failure],
            },
        )

    async def cmd_move(self, conn: SQSConnection) -> None:
        source = await self.queue(conn, self.args.source)
        destination = await self.queue(conn, self.args.destination)
        if source.url == destination.url:
            raise CLIError(f"{self.args.source} and {self.args.destination} are the same queue")
        progress = self.progress(f"move {source.name} -> {destination.name}")
        try:
            count = await _bulk.move(source, destination, progress, group_id=self.args.group_id)
        except PartialBatchFailure as exc:
            for message_id, error in exc.failed:
                self.err.write(f"{PROG}: message {message_id}: not moved: {_why_text(error)}\n")
            raise CLIError(
                exc.message,
                {
                    "moved": len(exc.succeeded),
                    "failed": [{"id": i, **_why(error)} for i, error in exc.failed],
                },
            ) from exc
        finally:
            progress.close()
        self.emit(f"moved {count} messages", {"moved": count})


def _run_demo(args: argparse.Namespace) -> int:
    from . import _demo

    endpoint = args.endpoint_url
    return _demo.main(["--endpoint-url", endpoint] if endpoint else [])


def _run_bench(rest: Sequence[str]) -> int:
    import subprocess

    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / "__main__.py").is_file():
        raise CLIError("the benchmarks live in the source repository: run this from a checkout")
    return subprocess.call([sys.executable, "-m", "benchmarks", *rest], cwd=root)


def _prepare(args: argparse.Namespace) -> None:
    """Check what can be checked before any network I/O: files, formats, FIFO groups, and
    that ``move`` has two different queues."""
    if args.command in ("dump", "load"):
        args.raw = args.raw or args.sep is not None
        args.sep = "\n" if args.sep is None else args.sep
        if not args.sep:
            raise CLIError("--sep must not be empty")
    if args.command == "move" and args.source.rstrip("/") == args.destination.rstrip("/"):
        raise CLIError(f"{args.source} is both the source and the destination")
    if args.command != "load":
        return
    if not Path(args.file).is_file():
        raise CLIError(f"no such file: {args.file}")
    with open(args.file, encoding="utf-8", newline="") as fp:
        text = fp.read()
    try:
        records = _records.parse_raw(text, args.sep) if args.raw else _records.parse_jsonl(text)
    except ValueError as exc:
        hint = " (a file of bare bodies? use --raw)" if not args.raw else ""
        raise CLIError(f"{args.file}: {exc}{hint}") from None
    records = [record for record in records if record.index >= args.skip]
    if _bulk.is_fifo(args.name) and not args.group_id:
        for record in records:
            if record.group_id is None:
                raise CLIError(
                    f"{args.file}, {record.where()}: no group id, and {args.name} is a FIFO "
                    "queue: give --group-id G (for the messages without one)"
                )
    args.records = records


class _Interrupted(Exception):
    """Ctrl-C stopped the command once it had unwound (exit 130)."""


def _owns_sigint() -> bool:
    """Whether ``asyncio.run`` would take over SIGINT here (the main thread, Python's default
    handler in place): then `_interruptible` takes it over the loop's way instead. An ignored
    SIGINT (a background job of a shell script) or an embedder's own handler is left alone."""
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )


async def _interruptible(command: Callable[[], Awaitable[int]], own_sigint: bool) -> int:
    """Run ``command()``; Ctrl-C cancels it, and `_Interrupted` is raised once it has unwound
    (its connection closed, its long polls abandoned); a second Ctrl-C raises
    ``KeyboardInterrupt`` at once. That is ``asyncio.run``'s own behaviour, but with the
    handler set by ``loop.add_signal_handler``, which routes the signal through the loop's
    self-pipe (``signal.set_wakeup_fd``). ``asyncio.run``'s handler is a plain
    ``signal.signal`` one: a SIGINT that lands just before the loop blocks in ``select()`` (or
    on another thread) runs it only at the loop's next wake-up, which for ``tail`` is the end
    of a parked 20 s long poll.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    interrupts = 0

    def on_sigint() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt  # the second one: stop at once, as asyncio.run does
        if task is not None:
            task.cancel()

    if own_sigint:
        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        except (NotImplementedError, RuntimeError, ValueError):  # no signals on this loop
            own_sigint = False
    try:
        return await command()
    except asyncio.CancelledError:
        if interrupts and task is not None and task.uncancel() == 0:
            raise _Interrupted from None
        raise
    finally:
        if own_sigint:
            loop.remove_signal_handler(signal.SIGINT)  # Python's default handler again


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    if argv[:1] == ["bench"]:  # every option after it belongs to python -m benchmarks
        try:
            return _run_bench(argv[1:])
        except CLIError as exc:
            err.write(f"{PROG}: error: {exc}\n")
            return 1
    args = parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _run_demo(args)
        if args.command == "worker":  # the runner's own room takes over (issue 10)
            from ._worker import main as run_worker

            return run_worker(args)
        _prepare(args)
        return asyncio.run(_interruptible(App(args, out, err).run, _owns_sigint()))
    except (KeyboardInterrupt, _Interrupted):
        err.write(f"{PROG}: interrupted\n")
        return 130
    except QueueDoesNotExist as exc:
        text = f"the queue does not exist ({exc.message or exc.code})"
        return _fail(args, out, err, text, {"error": _why(exc)})
    except SQSError as exc:
        return _fail(args, out, err, str(exc), {"error": _why(exc)})
    except CLIError as exc:
        return _fail(args, out, err, str(exc), {"error": {"message": str(exc)}, **exc.data})
    except OSError as exc:
        return _fail(args, out, err, str(exc), {"error": {"message": str(exc)}})


def _fail(
    args: argparse.Namespace, out: IO[str], err: IO[str], text: str, data: dict[str, Any]
) -> int:
    """One line on stderr; with ``--output json``, the same as a JSON object on stdout."""
    if args.output == "json":
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
    err.write(f"{PROG}: error: {text}\n")
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
