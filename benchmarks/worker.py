"""A client process: holds one client library, pinned to the client core, runs commands.

Layer: started by `benchmarks.harness` as ``python -m benchmarks.worker --client NAME --port P``.
It reads one JSON command per line on stdin and answers one JSON line on stdout (the real
stdout is kept for that; anything else that prints goes to stderr). Commands:

* ``{"op": "load", "scenario": ..., "loop": "asyncio"|"uvloop", "limits": {...}, "queue": ...}``
* ``{"op": "rss", "messages": N, "max_seconds": S, "queue": ...}`` (run in a fresh worker)
* ``{"op": "quit"}``

Answers: ``{"status": "ok", "result": {...}}``, ``{"status": "n/a", "reason": ...}`` or
``{"status": "error", "reason": ...}``. Every run gets a new event loop and a new client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

from benchmarks._system import pin_to_cpu, rss_mib
from benchmarks.admin import Admin
from benchmarks.clients import ADAPTERS, BODY, LIBRARIES, Adapter, NotAvailable
from benchmarks.scenarios import Limits, consume, run_load

CONNECTIONS = 64


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError as exc:
            raise NotAvailable(f"uvloop is not installed ({exc})") from exc
        return uvloop.new_event_loop
    return asyncio.new_event_loop


class Worker:
    def __init__(self, client: str, port: int) -> None:
        self.cls: type[Adapter] = ADAPTERS[client]
        self.endpoint = f"http://127.0.0.1:{port}"
        self.admin = Admin(port)

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        op = command["op"]
        try:
            kind = command.get("loop", "asyncio")
            factory = asyncio.new_event_loop if self.cls.is_sync else loop_factory(kind)
            with asyncio.Runner(loop_factory=factory) as runner:
                if op == "load":
                    result = runner.run(self.load(command))
                elif op == "rss":
                    result = runner.run(self.rss(command))
                else:
                    raise ValueError(f"unknown op {op!r}")
        except NotAvailable as exc:
            return {"status": "n/a", "reason": str(exc)}
        except ExceptionGroup as group:  # from a TaskGroup of load tasks
            missing = group.subgroup(NotAvailable)
            if missing is not None:
                return {"status": "n/a", "reason": str(missing.exceptions[0])}
            traceback.print_exc()
            first = group.exceptions[0]
            return {"status": "error", "reason": f"{type(first).__name__}: {first}"[:300]}
        except NotImplementedError as exc:
            return {"status": "n/a", "reason": f"not implemented yet: {exc}"}
        except Exception as exc:
            traceback.print_exc()
            return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:300]}
        return {"status": "ok", "result": result}

    async def _open(self, queue: str) -> Adapter:
        self.admin.fill(queue, 0, BODY)  # creates it (aiosqs has no CreateQueue)
        adapter = self.cls(self.endpoint, CONNECTIONS)
        try:
            await adapter.open(queue)
        except BaseException:
            await adapter.close()
            raise
        return adapter

    async def load(self, command: dict[str, Any]) -> dict[str, Any]:
        queue = command["queue"]
        adapter = await self._open(queue)
        try:
            return await run_load(
                adapter, command["scenario"], Limits(**command["limits"]), self.admin
            )
        finally:
            await adapter.close()
            self.admin.drop(queue)

    async def rss(self, command: dict[str, Any]) -> dict[str, Any]:
        """RSS of a consumer while it drains `messages` messages (the consume scenario)."""
        queue = command["queue"]
        adapter = await self._open(queue)
        try:
            # Warm up: everything imported and cached before the baseline is taken.
            warm = Limits(max_messages=min(300, command["messages"]), max_seconds=30.0)
            await consume(adapter, warm, self.admin, _NullTimer(self.admin))
            start = rss_mib()
            peak = [start]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.05):
                    peak[0] = max(peak[0], rss_mib())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            limits = Limits(max_messages=command["messages"], max_seconds=command["max_seconds"])
            timer = _NullTimer(self.admin)
            try:
                await consume(adapter, limits, self.admin, timer)
            finally:
                stop.set()
                sampler.join()
            end = rss_mib()
            return {
                "messages": timer.messages,
                "wall_s": timer.wall_s,
                "rss_start_mib": start,
                "rss_peak_mib": max(peak[0], end),
                "rss_end_mib": end,
                "rss_growth_mib": max(peak[0], end) - start,
                "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        finally:
            await adapter.close()
            self.admin.drop(queue)


class _NullTimer:
    """A Timer stand-in for the RSS run: counts and times, no server statistics."""

    def __init__(self, admin: Admin) -> None:
        self.messages = 0
        self.wall_s = 0.0

    def start(self) -> None:
        self.wall0 = time.perf_counter()

    def stop(self, messages: int) -> None:
        self.messages = messages
        self.wall_s = time.perf_counter() - self.wall0


def preload(client: str) -> None:
    """Import the client's libraries now, so that the first run does not pay for it."""
    for module in (*LIBRARIES.get(client, ()), "uvloop"):
        with contextlib.suppress(Exception):  # a run that needs it reports n/a or the error
            importlib.import_module(module)


def serve(worker: Worker, commands: TextIO, answers: TextIO) -> None:
    for line in commands:
        command = json.loads(line)
        if command.get("op") == "quit":
            return
        answers.write(json.dumps(worker.handle(command)) + "\n")
        answers.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("--client", required=True, choices=sorted(ADAPTERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args(argv)
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints must not corrupt the answer stream
    sys.stdout = sys.stderr
    preload(args.client)  # on any core, while the harness starts the other workers
    pin_to_cpu(args.cpu)
    answers.write(json.dumps({"status": "ready"}) + "\n")
    answers.flush()
    serve(Worker(args.client, args.port), sys.stdin, answers)


if __name__ == "__main__":
    main()
