"""``sqs-async worker`` as a subprocess against the local server: signals, processes,
crash restarts, startup errors, /metrics and /healthz."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from live_support import QueueFactory
from prometheus_client.parser import text_string_to_metric_families

from sqs_async import Queue

pytest_plugins = ["live_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

DEADLINE = 60.0  # generous: two shared cores, several Python processes starting


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(condition: Callable[[], object], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Worker:
    """One ``sqs-async worker`` run in ``directory``, its stderr in a file."""

    def __init__(self, directory: Path, endpoint: str, *args: str, **env: str) -> None:
        self.directory = directory
        self.log = directory / "worker.log"
        environ = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            **env,
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sqs_async", "--endpoint-url", endpoint, "worker", *args],
                cwd=directory,
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stderr(self) -> str:
        return self.log.read_text()

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = DEADLINE) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"the worker did not exit in {timeout} s:\n{self.stderr()}"
            ) from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def workers(tmp_path: Path, sqs_endpoint: str) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(*args: str, **env: str) -> Worker:
        worker = Worker(tmp_path, sqs_endpoint, *args, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


RECORDING_HANDLER = """
    import asyncio, json, os, pathlib

    HERE = pathlib.Path(__file__).parent

    def record(message, state="finished"):
        with (HERE / f"{state}-{os.getpid()}.jsonl").open("a") as out:
            out.write(json.dumps({"id": message.id, "body": message.get_body()}) + "\\n")
"""


def _handler_module(directory: Path, name: str, code: str) -> None:
    (directory / f"{name}.py").write_text(
        textwrap.dedent(RECORDING_HANDLER) + textwrap.dedent(code)
    )


def _records(directory: Path, state: str = "finished") -> dict[int, list[str]]:
    """Bodies recorded per process id."""
    out: dict[int, list[str]] = {}
    for path in directory.glob(f"{state}-*.jsonl"):
        pid = int(path.stem.partition("-")[2])
        out[pid] = [json.loads(line)["body"] for line in path.read_text().splitlines()]
    return out


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def _drain_visible(queue: Queue) -> list[str]:
    """Bodies of every visible message (kept invisible meanwhile, so each is seen once)."""
    bodies: list[str] = []
    while batch := await queue.get_messages(10, 120):
        bodies += [m.get_body() for m in batch]
    return bodies


async def test_sigterm_drains_two_processes_and_loses_nothing(
    workers: Callable[..., Worker], new_queue: QueueFactory, tmp_path: Path
) -> None:
    _handler_module(
        tmp_path,
        "jobs",
        """
        async def handle(message):
            await asyncio.sleep(0.4)
            record(message)
        """,
    )
    queue = await new_queue(visibility_timeout=60)
    sent = [f"m{i}" for i in range(60)]
    assert not (await queue.write_batch(sent)).failed
    port = _free_port()
    worker = workers(
        "jobs:handle",
        "--queue",
        queue.name,
        "--processes",
        "2",
        "--concurrency",
        "2",
        "--metrics-port",
        str(port),
        "--drain-timeout",
        "30",
    )
    base = f"http://127.0.0.1:{port}"

    def both_consumed() -> bool:
        finished = _records(tmp_path)
        return len(finished) == 2 and all(finished.values())

    _wait(both_consumed, "both processes to finish messages")
    _wait(lambda: _get(f"{base}/healthz")[0] == 200, "/healthz to say 200")
    status, health = _get(f"{base}/healthz")
    assert (status, health.strip()) == (200, "ok")

    def scraped() -> dict[str, float]:
        samples = {}
        for family in text_string_to_metric_families(_get(f"{base}/metrics")[1]):
            for sample in family.samples:
                if sample.labels.get("queue") == queue.name and "le" not in sample.labels:
                    samples[sample.name] = sample.value
        return samples

    _wait(lambda: scraped().get("sqs_async_messages_deleted_total", 0) >= 2, "deletes counted")
    metrics = scraped()
    assert (
        metrics["sqs_async_messages_received_total"] >= metrics["sqs_async_messages_handled_total"]
    )
    assert metrics["sqs_async_messages_handled_total"] >= 2
    assert metrics["sqs_async_handler_duration_seconds_count"] >= 2
    assert metrics["sqs_async_handler_duration_seconds_sum"] >= 0.4 * 2
    assert "sqs_async_messages_in_flight" in metrics
    assert "sqs_async_buffer_oldest_age_seconds" in metrics

    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.stderr()
    finished = [body for bodies in _records(tmp_path).values() for body in bodies]
    assert len(finished) == len(set(finished))
    # Nothing left in flight: what was not finished was released (visible at once).
    assert await queue.count(include_in_flight=True) == await queue.count()
    remaining = await _drain_visible(queue)
    assert set(finished).isdisjoint(remaining)  # none finished and still there
    assert sorted(finished + remaining) == sorted(sent)  # every message: finished or back
    assert remaining, "SIGTERM came after everything was done: nothing was drained"
    assert "Traceback" not in worker.stderr()


async def test_a_crashed_process_is_restarted_and_its_message_comes_back(
    workers: Callable[..., Worker], new_queue: QueueFactory, tmp_path: Path
) -> None:
    _handler_module(
        tmp_path,
        "crashy",
        """
        def handle(message):  # a plain def: runs in a worker thread
            marker = HERE / "crashed"
            if message.get_body() == "boom" and not marker.exists():
                marker.touch()
                os._exit(17)
            record(message)
        """,
    )
    queue = await new_queue(visibility_timeout=2)
    assert not (await queue.write_batch(["boom", "a", "b"])).failed
    worker = workers("crashy:handle", "--queue", queue.name, "--concurrency", "1")

    def all_finished() -> bool:
        return sorted(b for bodies in _records(tmp_path).values() for b in bodies) == [
            "a",
            "b",
            "boom",
        ]

    _wait(all_finished, "every message, 'boom' after the restart")
    assert (tmp_path / "crashed").exists()
    assert len(_records(tmp_path)) >= 1
    assert "exited with exit code 17; restarting" in worker.stderr()
    worker.signal(signal.SIGINT)
    assert worker.wait() == 0, worker.stderr()
    assert await _drain_visible(queue) == []


async def test_a_process_that_keeps_crashing_makes_the_worker_give_up(
    workers: Callable[..., Worker], new_queue: QueueFactory, tmp_path: Path
) -> None:
    (tmp_path / "doomed.py").write_text("import os\nos._exit(5)\n")
    queue = await new_queue()
    worker = workers("doomed:handle", "--queue", queue.name)
    assert worker.wait() == 1
    errors = [line for line in worker.stderr().splitlines() if "error:" in line]
    assert len(errors) == 1
    assert "crashed 5 times" in errors[0]
    assert "exit code 5" in errors[0]


async def test_a_second_signal_stops_at_once_and_releases(
    workers: Callable[..., Worker], new_queue: QueueFactory, tmp_path: Path
) -> None:
    _handler_module(
        tmp_path,
        "slow",
        """
        async def handle(message):
            record(message, "started")
            await asyncio.sleep(600)
            record(message)
        """,
    )
    queue = await new_queue(visibility_timeout=60)
    assert not (await queue.write_batch(["x", "y", "z"])).failed
    worker = workers(
        "slow:handle", "--queue", queue.name, "--concurrency", "5", "--drain-timeout", "600"
    )
    _wait(lambda: sum(map(len, _records(tmp_path, "started").values())) == 3, "handlers running")
    worker.signal(signal.SIGTERM)
    _wait(lambda: "SIGTERM: stopping" in worker.stderr(), "the first signal to be seen")
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 130, worker.stderr()
    assert _records(tmp_path) == {}
    # Released at once, not after the 60 s visibility timeout.
    back: list[str] = []
    end = time.monotonic() + 10
    while len(back) < 3 and time.monotonic() < end:
        back += await _drain_visible(queue)
    assert sorted(back) == ["x", "y", "z"]


@pytest.mark.parametrize(
    ("handler", "module", "expected"),
    [
        ("nosuchmodule:handle", None, "cannot import 'nosuchmodule'"),
        ("broken:handle", "raise RuntimeError('no config')\n", "RuntimeError: no config"),
        ("empty:handle", "x = 1\n", "'empty' has no attribute 'handle'"),
        ("empty:x", "x = 1\n", "is not callable"),
        ("no-colon", None, "MODULE:FUNCTION"),
    ],
)
async def test_startup_errors_are_one_line_and_exit_1(
    workers: Callable[..., Worker],
    new_queue: QueueFactory,
    tmp_path: Path,
    handler: str,
    module: str | None,
    expected: str,
) -> None:
    if module is not None:
        (tmp_path / f"{handler.partition(':')[0]}.py").write_text(module)
    queue = await new_queue()
    worker = workers(handler, "--queue", queue.name, "--processes", "2")
    assert worker.wait() == 1
    lines = worker.stderr().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("sqs-async worker: error: ")
    assert expected in lines[0]


async def test_a_missing_queue_is_one_line_and_exit_1(
    workers: Callable[..., Worker], tmp_path: Path
) -> None:
    (tmp_path / "ok.py").write_text("async def handle(message):\n    pass\n")
    worker = workers("ok:handle", "--queue", "no-such-queue-here", "--processes", "2")
    assert worker.wait() == 1
    lines = worker.stderr().strip().splitlines()
    assert lines == ["sqs-async worker: error: queue 'no-such-queue-here' does not exist"]


async def test_json_logs_and_uvloop_in_the_children(
    workers: Callable[..., Worker], new_queue: QueueFactory, tmp_path: Path
) -> None:
    (tmp_path / "quiet.py").write_text("async def handle(message):\n    pass\n")
    queue = await new_queue()
    worker = workers(
        "quiet:handle", "--queue", queue.name, "--log-format", "json", "--log-level", "debug"
    )
    _wait(lambda: "worker process consuming" in worker.stderr(), "the worker to start consuming")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    records = [json.loads(line) for line in worker.stderr().splitlines()]
    assert all({"time", "level", "logger", "message", "pid"} <= set(r) for r in records)
    messages = {(r["logger"], r["message"]) for r in records}
    assert ("sqs_async.worker", f"1 worker process consuming {queue.name}") in messages
    assert ("sqs_async.worker", "event loop: uvloop") in messages  # the speedups extra is here
    assert ("sqs_async.worker", "stopped") in messages


async def test_missing_credentials_are_one_line_and_exit_1(
    workers: Callable[..., Worker], new_queue: QueueFactory, tmp_path: Path
) -> None:
    (tmp_path / "ok.py").write_text("async def handle(message):\n    pass\n")
    queue = await new_queue()
    worker = workers("ok:handle", "--queue", queue.name, AWS_ACCESS_KEY_ID="")
    assert worker.wait() == 1
    lines = worker.stderr().strip().splitlines()
    assert len(lines) == 1, lines
    assert "no AWS credentials found" in lines[0]


async def test_a_taken_metrics_port_is_one_line_and_exit_1(
    workers: Callable[..., Worker], new_queue: QueueFactory, tmp_path: Path
) -> None:
    (tmp_path / "ok.py").write_text("async def handle(message):\n    pass\n")
    queue = await new_queue()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = workers("ok:handle", "--queue", queue.name, "--metrics-port", str(port))
        assert worker.wait() == 1
    lines = worker.stderr().strip().splitlines()
    assert len(lines) == 1, lines
    assert f"cannot serve metrics on 127.0.0.1:{port}" in lines[0]


async def test_batch_handlers(
    workers: Callable[..., Worker], new_queue: QueueFactory, tmp_path: Path
) -> None:
    _handler_module(
        tmp_path,
        "batches",
        """
        def handle(messages):  # a plain def: runs in a worker thread
            with (HERE / "sizes.txt").open("a") as out:
                out.write(f"{len(messages)}\\n")
            failed = [m for m in messages if m.get_body() == "odd"
                      and m.attributes.get("ApproximateReceiveCount") == "1"]
            for message in messages:
                if message not in failed:
                    record(message)
            return failed
        """,
    )
    queue = await new_queue(visibility_timeout=30)
    sent = [f"b{i}" for i in range(14)] + ["odd"]
    assert not (await queue.write_batch(sent)).failed
    worker = workers(
        "batches:handle", "--queue", queue.name, "--batch", "--max-batch", "5", "--max-wait", "0.2"
    )

    def all_finished() -> bool:
        return sorted(b for bodies in _records(tmp_path).values() for b in bodies) == sorted(sent)

    _wait(all_finished, "every message handled in batches ('odd' after its backoff)")
    sizes = [int(n) for n in (tmp_path / "sizes.txt").read_text().split()]
    assert max(sizes) <= 5
    assert sum(sizes) == len(sent) + 1  # 'odd' was handled twice
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.stderr()
    assert await queue.count(include_in_flight=True) == 0


def _alive(pid: int) -> bool:
    """Whether a process runs (an exited one not yet reaped by init is a zombie: not alive)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


async def test_a_child_whose_supervisor_died_stops_and_releases(
    workers: Callable[..., Worker], new_queue: QueueFactory, tmp_path: Path
) -> None:
    _handler_module(
        tmp_path,
        "orphan",
        """
        async def handle(message):
            await asyncio.sleep(0.3)
            record(message)
        """,
    )
    queue = await new_queue(visibility_timeout=60)
    sent = [f"o{i}" for i in range(30)]
    assert not (await queue.write_batch(sent)).failed
    worker = workers("orphan:handle", "--queue", queue.name, "--concurrency", "2")
    _wait(lambda: _records(tmp_path), "the child to finish a message")
    (child,) = _children(worker.process.pid)
    worker.process.kill()  # the supervisor dies without forwarding anything
    worker.process.wait()
    _wait(lambda: not _alive(child), "the orphaned child to stop")
    finished = [body for bodies in _records(tmp_path).values() for body in bodies]
    assert await queue.count(include_in_flight=True) == await queue.count()
    remaining = await _drain_visible(queue)
    assert sorted(finished + remaining) == sorted(sent)
    assert remaining
