"""The load scenarios: setup, warm-up, one timed window, all bounded in count and in time.

Layer: run inside a worker process (`benchmarks.worker`) against one adapter. The timed window
is opened and closed by `Timer`, which samples the client's CPU time (`time.process_time`, all
threads of this process), the wall clock, and the server's request count and CPU time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from benchmarks.admin import Admin
from benchmarks.clients import BODY, Adapter, NotAvailable, SqsAsyncAdapter

LOAD_SCENARIOS: dict[str, str] = {
    "send": "SendMessage, 64 concurrent tasks",
    "send_batch": "SendMessageBatch of 10, 64 concurrent tasks",
    "receive_delete": "ReceiveMessage(10) + DeleteMessageBatch, 64 concurrent tasks",
    "consume": "consume() end to end, no-op handler (peers: hand-written receive/delete loop)",
    "batch_writer": "batch_writer(), 64 producers (peers: single SendMessage)",
}
POLL_WAIT = 1  # long-poll seconds of the hand-written loops (bounds their tail at the end)


@dataclass(slots=True)
class Limits:
    """How much one timed window may do: whichever bound is hit first ends it."""

    max_messages: int
    max_seconds: float
    concurrency: int = 64
    pollers: int = 8


class WindowTimer(Protocol):
    """Opens and closes the timed window (`Timer`, or a plain stopwatch for the RSS run)."""

    def start(self) -> None: ...

    def stop(self, messages: int) -> None: ...


class Timer:
    """The timed window of one run."""

    def __init__(self, admin: Admin) -> None:
        self.admin = admin
        self.result: dict[str, Any] = {}

    def start(self) -> None:
        self.server0 = self.admin.stats()
        self.cpu0 = time.process_time()
        self.wall0 = time.perf_counter()

    def stop(self, messages: int) -> None:
        wall = time.perf_counter() - self.wall0
        cpu = time.process_time() - self.cpu0
        server = self.admin.stats()
        self.result = {
            "wall_s": wall,
            "cpu_s": cpu,
            "messages": messages,
            "requests": server["requests"] - self.server0["requests"],
            "server_cpu_s": server["cpu_s"] - self.server0["cpu_s"],
        }


# ---- drivers: N concurrent workers repeating one operation -----------------------------------


async def drive(
    op: Callable[[], Awaitable[int]], workers: int, max_units: int, deadline: float
) -> int:
    """Run `op` from `workers` tasks until `max_units` calls or the deadline; messages done."""
    started = 0
    messages = 0

    async def worker() -> None:
        nonlocal started, messages
        while started < max_units and time.perf_counter() < deadline:
            started += 1
            done = await op()
            messages += done

    async with asyncio.TaskGroup() as group:
        for _ in range(workers):
            group.create_task(worker())
    return messages


def drive_threads(op: Callable[[], int], workers: int, max_units: int, deadline: float) -> int:
    """The same on threads, for synchronous clients."""
    lock = threading.Lock()
    state = {"started": 0, "messages": 0}

    def worker() -> None:
        while True:
            with lock:
                if state["started"] >= max_units or time.perf_counter() >= deadline:
                    return
                state["started"] += 1
            done = op()
            with lock:
                state["messages"] += done

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()
    return state["messages"]


async def _run_op(
    adapter: Adapter, name: str, limits: Limits, max_units: int, seconds: float
) -> int:
    deadline = time.perf_counter() + seconds
    if adapter.is_sync:
        sync_ops: dict[str, Callable[[], int]] = {
            "send": adapter.send_sync,  # type: ignore[attr-defined]
            "send_batch": adapter.send_batch_sync,  # type: ignore[attr-defined]
            "receive_delete": lambda: _receive_delete_sync(adapter),
        }
        return drive_threads(sync_ops[name], limits.concurrency, max_units, deadline)
    ops: dict[str, Callable[[], Awaitable[int]]] = {
        "send": adapter.send,
        "send_batch": adapter.send_batch,
        "receive_delete": lambda: _receive_delete(adapter),
    }
    return await drive(ops[name], limits.concurrency, max_units, deadline)


async def _receive_delete(adapter: Adapter) -> int:
    messages = await adapter.receive(0)
    if messages:
        await adapter.delete_batch(messages)
    return len(messages)


def _receive_delete_sync(adapter: Any) -> int:
    messages = adapter.receive_sync(0)
    if messages:
        adapter.delete_batch_sync(messages)
    return len(messages)


# ---- scenarios -------------------------------------------------------------------------------


async def simple(
    adapter: Adapter, name: str, limits: Limits, admin: Admin, timer: WindowTimer
) -> None:
    """send / send_batch / receive_delete: warm every connection up, then one timed window."""
    per_op = 1 if name == "send" else 10
    ops = max(limits.max_messages // per_op, 1)
    warm = limits.concurrency  # one call per task: every pooled connection gets opened
    if name == "receive_delete":
        admin.fill(adapter.queue_url, (ops + warm + limits.concurrency) * 10, BODY)
    await _run_op(adapter, name, limits, warm, 30.0)
    timer.start()
    messages = await _run_op(adapter, name, limits, ops, limits.max_seconds)
    timer.stop(messages)


async def consume(adapter: Adapter, limits: Limits, admin: Admin, timer: WindowTimer) -> None:
    """Drain a pre-filled queue: sqs_async's consume(), everyone else's hand-written loop."""
    total = limits.max_messages
    admin.purge(adapter.queue_url)  # no leftovers of an earlier run
    admin.fill(adapter.queue_url, total, BODY)
    if isinstance(adapter, SqsAsyncAdapter):
        await _native_consume(adapter, total, limits, admin, timer)
    elif adapter.is_sync:
        _threads_consume(adapter, total, limits, admin, timer)
    else:
        await _loop_consume(adapter, total, limits, admin, timer)


async def _native_consume(
    adapter: SqsAsyncAdapter, total: int, limits: Limits, admin: Admin, timer: WindowTimer
) -> None:
    make_consumer = adapter.native("consumer")
    handled = 0
    done = asyncio.Event()

    async def handler(message: Any) -> None:
        nonlocal handled
        handled += 1
        if handled >= total:
            done.set()

    consumer = make_consumer(handler, concurrency=limits.concurrency, wait_time_seconds=POLL_WAIT)
    timer.start()
    task = asyncio.create_task(consumer.run())
    waiter = asyncio.create_task(done.wait())
    try:
        async with asyncio.timeout(limits.max_seconds):
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    except TimeoutError:
        pass
    finally:
        waiter.cancel()
    # Shutdown lets in-flight long polls land (so that what they bring is released, not
    # lost); wake them with a few messages instead of waiting out their wait time.
    consumer.stop()
    admin.fill(adapter.queue_url, 100, BODY)
    await task  # flushes the pending deletes before it returns
    timer.stop(handled)


async def _noop(message: Any) -> None:
    return None


async def _loop_consume(
    adapter: Adapter, total: int, limits: Limits, admin: Admin, timer: WindowTimer
) -> None:
    consumed = 0
    done = asyncio.Event()
    deadline = time.perf_counter() + limits.max_seconds

    async def poller() -> None:
        nonlocal consumed
        while consumed < total and time.perf_counter() < deadline:
            messages = await adapter.receive(POLL_WAIT)
            for message in messages:
                await _noop(message)
            if messages:
                await adapter.delete_batch(messages)
                consumed += len(messages)
                if consumed >= total:
                    done.set()

    timer.start()
    tasks = [asyncio.create_task(poller()) for _ in range(limits.pollers)]
    # The window ends when the last message is deleted, or when every poller has seen the
    # deadline and finished what it was doing (so all the work done is counted).
    finished: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*tasks))
    waiter: asyncio.Future[Any] = asyncio.ensure_future(done.wait())
    await asyncio.wait({finished, waiter}, return_when=asyncio.FIRST_COMPLETED)
    timer.stop(consumed)
    waiter.cancel()
    for task in tasks:
        task.cancel()  # the others are in a long poll on the empty queue
    await asyncio.gather(finished, waiter, return_exceptions=True)


def _threads_consume(
    adapter: Any, total: int, limits: Limits, admin: Admin, timer: WindowTimer
) -> None:
    lock = threading.Lock()
    state = {"consumed": 0, "running": limits.pollers}
    done = threading.Event()
    deadline = time.perf_counter() + limits.max_seconds

    def poller() -> None:
        try:
            while state["consumed"] < total and time.perf_counter() < deadline:
                messages = adapter.receive_sync(POLL_WAIT)
                if messages:
                    adapter.delete_batch_sync(messages)
                    with lock:
                        state["consumed"] += len(messages)
                        if state["consumed"] >= total:
                            done.set()
        finally:
            with lock:
                state["running"] -= 1
                if not state["running"]:
                    done.set()

    timer.start()
    with ThreadPoolExecutor(max_workers=limits.pollers) as pool:
        futures = [pool.submit(poller) for _ in range(limits.pollers)]
        done.wait(limits.max_seconds + 60)
        timer.stop(state["consumed"])
        # Wake the pollers still in a long poll on the empty queue, so they see the end now.
        admin.fill(adapter.queue_url, limits.pollers * 10, BODY)
        for future in futures:
            future.result()


async def batch_writer(adapter: Adapter, limits: Limits, admin: Admin, timer: WindowTimer) -> None:
    """sqs_async only: concurrent writes coalesced by queue.batch_writer()."""
    if not isinstance(adapter, SqsAsyncAdapter):
        raise NotAvailable("no auto-batching writer; see its SendMessage row")
    writer_factory = adapter.native("batch_writer")
    queue = adapter.queue
    written = 0
    started = 0

    async def producers(writer: Any, max_units: int, seconds: float) -> None:
        nonlocal written, started
        started = 0
        deadline = time.perf_counter() + seconds

        async def producer() -> None:
            nonlocal written, started
            while started < max_units and time.perf_counter() < deadline:
                started += 1
                await writer.write(queue.new_message(BODY))
                written += 1

        async with asyncio.TaskGroup() as group:
            for _ in range(limits.concurrency):
                group.create_task(producer())

    async with writer_factory() as writer:  # warm-up, untimed
        await producers(writer, limits.concurrency, 30.0)
    written = 0
    timer.start()
    async with writer_factory() as writer:
        await producers(writer, limits.max_messages, limits.max_seconds)
    timer.stop(written)


async def run_load(adapter: Adapter, name: str, limits: Limits, admin: Admin) -> dict[str, Any]:
    """One timed run of a load scenario; the adapter is already open."""
    timer = Timer(admin)
    if name in ("send", "send_batch", "receive_delete"):
        await simple(adapter, name, limits, admin, timer)
    elif name == "consume":
        await consume(adapter, limits, admin, timer)
    elif name == "batch_writer":
        await batch_writer(adapter, limits, admin, timer)
    else:
        raise ValueError(f"unknown scenario {name!r}")
    return timer.result
