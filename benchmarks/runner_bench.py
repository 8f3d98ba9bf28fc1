"""The runner's cost: client CPU per consumed message under ``sqs-async worker`` against a
plain ``queue.consume()``, and what tracing costs when it is on (issue 10).

Run from a checkout: ``python -m benchmarks.runner_bench [--messages N] [--repeats R]``.

Every scenario consumes from the in-memory benchmark server (``benchmarks.server``, its own
process) in a fresh process tree, measured from outside the same way: the CPU time (user +
system, from ``/proc``) of the consuming process and all its children, from the moment it
is consuming an empty queue until ``N`` messages loaded into the queue are all deleted. The
handler does nothing, so what is measured is the library and the runner around it.

Scenarios: plain ``consume()`` (uvloop when installed, as the runner's children); the
runner with 1 process without and with ``--metrics-port``; the runner with 2 processes and
metrics (the supervisor included); ``consume()`` with ``sqs_async.otel`` instrumented (SDK
tracer provider, batch span processor, an exporter that drops the spans); and sends
(``write_batch``) without and with tracing, measured in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.admin import Admin

QUEUE = "runner-bench"
CONCURRENCY = 50
HANDLER = "async def handle(message):\n    pass\n"
READY_MARK = "worker process"  # the supervisor says it once every process consumes
ROOT = Path(__file__).resolve().parent.parent


# -- measuring from outside ---------------------------------------------------------------


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, or 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            pids += _tree(int(child))
    return pids


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its descendants alive now."""
    return sum(_cpu(p) for p in _tree(pid))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server() -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("READY"):
        raise SystemExit(f"the benchmark server did not start: {line!r}")
    return server, int(line.split()[1])


def _environment(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_SQS": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
    }


def run_scenario(command: list[str], port: int, directory: Path, messages: int) -> dict[str, float]:
    """Start ``command``, wait until it consumes, load ``messages``, measure until drained."""
    admin = Admin(port)
    admin.fill(QUEUE, 0, "x")  # create the queue (empty)
    admin.purge(QUEUE)
    log = directory / "consumer.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=directory, env=_environment(port), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while READY_MARK not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the consumer did not start:\n{log.read_text()}")
            time.sleep(0.05)
        time.sleep(1.0)  # let every poller park its long poll
        requests0 = admin.stats()["requests"]
        cpu0, wall0, top0 = tree_cpu(process.pid), time.monotonic(), _cpu(process.pid)
        admin.fill(QUEUE, messages, "x" * 100)
        while True:
            counts = admin.count(QUEUE)
            if counts["ApproximateNumberOfMessages"] == 0 and (
                counts["ApproximateNumberOfMessagesNotVisible"] == 0
            ):
                break
            if process.poll() is not None:
                raise SystemExit(f"the consumer exited:\n{log.read_text()}")
            time.sleep(0.02)
        cpu1, wall1, top1 = tree_cpu(process.pid), time.monotonic(), _cpu(process.pid)
        requests1 = admin.stats()["requests"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    seconds = wall1 - wall0
    return {
        "cpu_us_per_message": (cpu1 - cpu0) / messages * 1e6,
        "messages_per_second": messages / seconds,
        "requests_per_message": (requests1 - requests0) / messages,
        # the started process alone: consume()'s whole work, or the runner's supervisor
        "top_cpu_us_per_message": (top1 - top0) / messages * 1e6,
    }


# -- the consume() process (python -m benchmarks.runner_bench --consume [--trace]) ----------


async def _consume(trace: bool) -> None:
    import sqs_async

    if trace:
        _instrument()
    async with sqs_async.SQSConnection() as conn:
        queue = await conn.get_queue(QUEUE)
        assert queue is not None

        async def handle(message: sqs_async.Message) -> None:
            pass

        consumer = queue.consumer(handle, concurrency=CONCURRENCY)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, consumer.stop)
        print(f"1 {READY_MARK} consuming {QUEUE}", flush=True)
        await consumer.run()


def _instrument() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    import sqs_async.otel

    class Drop(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    sqs_async.otel.instrument(tracer_provider=provider)


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def consume_main(trace: bool) -> None:
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_consume(trace))


# -- sends, in-process ----------------------------------------------------------------------


async def _sends(port: int, messages: int, trace: bool) -> float:
    import sqs_async

    if trace:
        _instrument()
    async with sqs_async.SQSConnection(
        "bench", "bench", region="us-east-1", endpoint_url=f"http://127.0.0.1:{port}"
    ) as conn:
        queue = await conn.create_queue(f"{QUEUE}-sends")
        bodies = ["x" * 100] * 10
        await queue.write_batch(bodies)  # warm up
        start = time.process_time()
        for _ in range(messages // 10):
            await queue.write_batch(bodies)
        cpu = time.process_time() - start
        await queue.purge()
    return cpu / messages * 1e6


def sends_main(port: int, messages: int, trace: bool) -> None:
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        cpu = runner.run(_sends(port, messages, trace))
    loaded = sorted({m.partition(".")[0] for m in sys.modules if m.startswith("opentelemetry")})
    print(json.dumps({"cpu_us_per_message": cpu, "otel_modules": loaded}))


# -- the driver ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runner_bench")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="run only the scenarios whose name contains this")
    parser.add_argument("--consume", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sends", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.consume:
        consume_main(args.trace)
        return
    if args.sends:
        sends_main(args.sends, args.messages, args.trace)
        return

    server, port = start_server()
    worker = [sys.executable, "-m", "sqs_async", "worker", "bench_handler:handle"]
    worker += ["--queue", QUEUE, "--concurrency", str(CONCURRENCY)]
    consume = [sys.executable, "-m", "benchmarks.runner_bench", "--consume"]
    scenarios = {
        "consume()": consume,
        "runner, 1 process": [*worker, "--processes", "1"],
        "runner, 1 process, metrics": [
            *worker,
            "--processes",
            "1",
            "--metrics-port",
            str(_free_port()),
        ],
        "runner, 2 processes, metrics": [
            *worker,
            "--processes",
            "2",
            "--metrics-port",
            str(_free_port()),
        ],
        "consume(), tracing on": [*consume, "--trace"],
    }
    if args.only:
        scenarios = {k: v for k, v in scenarios.items() if args.only in k or k == "consume()"}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            (directory / "bench_handler.py").write_text(HANDLER)
            for repeat in range(args.repeats):  # interleaved, so drift hits every scenario
                for name, command in scenarios.items():
                    result = run_scenario(command, port, directory, args.messages)
                    results[name].append(result)
                    print(
                        f"[{repeat + 1}/{args.repeats}] {name:<30} "
                        f"{result['cpu_us_per_message']:7.1f} us CPU/msg "
                        f"{result['messages_per_second']:8.0f} msg/s "
                        f"{result['requests_per_message']:6.3f} requests/msg "
                        f"(top process {result['top_cpu_us_per_message']:.1f} us/msg)",
                        file=sys.stderr,
                    )
            sends = {}
            for trace in (False, True):
                command = [sys.executable, "-m", "benchmarks.runner_bench"]
                command += ["--sends", str(port), "--messages", str(args.messages)]
                runs = [
                    json.loads(
                        subprocess.check_output(
                            [*command, *(["--trace"] if trace else [])],
                            cwd=ROOT,
                            env=_environment(port),
                        )
                    )
                    for _ in range(args.repeats)
                ]
                sends[trace] = runs
    finally:
        server.terminate()
        server.wait(10)

    print(f"\nclient CPU per consumed message, median of {args.repeats} runs of {args.messages}:")
    print(f"{'scenario':<32}{'us CPU/msg':>12}{'msg/s':>10}{'requests/msg':>14}")
    for name, runs in results.items():
        cpu = statistics.median(r["cpu_us_per_message"] for r in runs)
        rate = statistics.median(r["messages_per_second"] for r in runs)
        calls = statistics.median(r["requests_per_message"] for r in runs)
        print(f"{name:<32}{cpu:>12.1f}{rate:>10.0f}{calls:>14.3f}")
    print("\nclient CPU per sent message (write_batch of 10):")
    for trace, runs in sends.items():
        cpu = statistics.median(r["cpu_us_per_message"] for r in runs)
        loaded = runs[0]["otel_modules"]
        label = "tracing on" if trace else "tracing off (never instrumented)"
        print(f"{label:<36}{cpu:>8.1f} us   opentelemetry modules loaded: {loaded or 'none'}")


if __name__ == "__main__":
    main()
