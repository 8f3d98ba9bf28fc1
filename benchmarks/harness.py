"""The run: server and client processes, interleaved repetitions, raw records out.

Layer: drives `benchmarks.server`, `benchmarks.worker` and `benchmarks.startup` as subprocesses
(so each client is measured alone in its own process, pinned to the client core, while the
server has the other core), and returns every run's raw record for `benchmarks.report`.

Interleaving: for each repetition, each scenario and each event loop, every client runs once,
in an order rotated per repetition, so that drift on the machine (other load, thermal, memory)
spreads over all clients instead of landing on one.
"""

from __future__ import annotations

import json
import os
import platform
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks._system import available_cpus, cpu_layout, pin_to_cpu
from benchmarks.admin import Admin
from benchmarks.clients import CLIENTS, KEY_ID, REGION, SECRET, SIGNED_FLOOR, SOCKET_FLOOR
from benchmarks.scenarios import LOAD_SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
NATIVE_ONLY = {"batch_writer": "sqs_async"}  # peers' rows come from their SendMessage runs
# benchmarks.startup measures these; the signed-socket floor imports what the socket floor
# does (its row is the import yardstick), so it gets an n/a start-up row.
STARTUP_CLIENTS = frozenset(CLIENTS) - {SIGNED_FLOOR}


@dataclass(frozen=True, slots=True)
class Mode:
    """How much work: repetitions and the bounds of each timed window."""

    name: str
    reps: int
    max_messages: int  # per timed window (messages, i.e. 10 per batch call)
    max_seconds: float  # per timed window
    startup_reps: int
    rss_messages: int
    rss_max_seconds: float


MODES = {
    "smoke": Mode("smoke", 1, 100, 0.2, 1, 200, 20.0),
    "quick": Mode("quick", 3, 1_000, 0.15, 1, 2_000, 5.0),
    "full": Mode("full", 5, 30_000, 1.0, 5, 500_000, 90.0),
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _affinity(pid: int) -> list[int] | None:
    """The cores a process may run on (0: this one), or None where that is unknown."""
    try:
        return sorted(os.sched_getaffinity(pid))
    except (AttributeError, OSError):
        return None


def _read_line(stream: IO[str], timeout: float) -> str | None:
    """One line from a child's stdout, or None after `timeout` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            return None
    return stream.readline()


def _stop(proc: subprocess.Popen[str], grace: float = 5.0) -> None:
    """End a child we started: politely, then by force."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class WorkerProcess:
    """A `benchmarks.worker` child for one client; restarted after a timeout."""

    def __init__(self, client: str, port: int, cpu: int | None, log: IO[str]) -> None:
        self.client, self.port, self.cpu, self.log = client, port, cpu, log
        self.proc: subprocess.Popen[str] | None = None
        self.ready = False

    def start(self) -> None:
        """Spawn the worker; it imports its client library before it pins itself."""
        if self.proc is not None and self.proc.poll() is None:
            return
        args = [sys.executable, "-m", "benchmarks.worker", "--client", self.client]
        args += ["--port", str(self.port)]
        if self.cpu is not None:
            args += ["--cpu", str(self.cpu)]
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=_env(),
        )
        self.ready = False

    def wait_ready(self, timeout: float = 60.0) -> None:
        if self.proc is None or self.ready:
            return
        assert self.proc.stdout is not None
        _read_line(self.proc.stdout, timeout)  # {"status": "ready"}, or nothing if it died
        self.ready = True

    def request(self, command: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.start()
        self.wait_ready()
        assert self.proc is not None
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = _read_line(self.proc.stdout, timeout)
        if not line:
            self.close()
            why = "timed out" if line is None else "worker exited"
            return {"status": "error", "reason": f"{why} (see bench.log)"}
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None and self.proc.stdin is not None:
                try:
                    self.proc.stdin.write('{"op": "quit"}\n')
                    self.proc.stdin.flush()
                    self.proc.wait(10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            _stop(self.proc)
            self.proc = None


class Harness:
    def __init__(
        self,
        mode: Mode,
        out_dir: Path,
        clients: tuple[str, ...] = CLIENTS,
        loops: tuple[str, ...] = ("asyncio", "uvloop"),
        scenarios: tuple[str, ...] = (*LOAD_SCENARIOS, "startup", "cli", "rss"),
        progress: Callable[[str], None] | None = None,
        aws_cli: str | None = None,
    ) -> None:
        self.mode, self.out_dir, self.clients, self.loops = mode, out_dir, clients, loops
        self.scenarios = scenarios
        self.aws_cli = aws_cli
        self.progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        self.server_cpu, self.client_cpu = cpu_layout()
        self.records: list[dict[str, Any]] = []

    def run(self) -> dict[str, Any]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        pin_to_cpu(self.client_cpu)  # the harness mostly waits; keep it off the server's core
        started = time.time()
        self._last = time.monotonic()
        self.load_average_start = list(os.getloadavg())
        with open(self.out_dir / "bench.log", "w") as log:
            server = self._start_server(log)
            workers: dict[str, WorkerProcess] = {}
            try:
                admin = Admin(self.port)
                # Start every worker at once (their imports overlap), then measure on a
                # quiet machine.
                for client in self.clients:
                    workers[client] = WorkerProcess(client, self.port, self.client_cpu, log)
                    workers[client].start()
                for worker in workers.values():
                    worker.wait_ready()
                if {"startup", "cli"} & set(self.scenarios):
                    # Bytecode as an installed package has it (pip compiles wheels): with
                    # PYTHONDONTWRITEBYTECODE set, an editable checkout would compile from
                    # source on every import, and import times would measure the compiler.
                    subprocess.run(
                        [sys.executable, "-m", "compileall", "-q", str(ROOT / "sqs_async")],
                        capture_output=True,
                        check=False,
                    )
                for rep in range(self.mode.reps):
                    order = self._order(rep)
                    if rep < self.mode.startup_reps and "startup" in self.scenarios:
                        self._startup(rep, order, admin, log)
                    if rep < self.mode.startup_reps and "cli" in self.scenarios:
                        self._cli(rep, admin, log)
                    for scenario in LOAD_SCENARIOS:
                        if scenario not in self.scenarios:
                            continue
                        for loop in self.loops:
                            for client in order:
                                self._load(rep, scenario, loop, client, workers, log)
                if "rss" in self.scenarios:
                    self._rss(log)
                admin.close()
            finally:
                for worker in workers.values():
                    worker.close()
                _stop(server)
        return {"meta": self._meta(started), "runs": self.records}

    def _order(self, rep: int) -> list[str]:
        shift = rep % len(self.clients)
        return list(self.clients[shift:] + self.clients[:shift])

    def _start_server(self, log: IO[str]) -> subprocess.Popen[str]:
        args = [sys.executable, "-m", "benchmarks.server", "--port", "0", "--max-seconds", "3600"]
        if self.server_cpu is not None:
            args += ["--cpu", str(self.server_cpu)]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True, env=_env())
        assert proc.stdout is not None
        line = _read_line(proc.stdout, 30.0) or ""
        if not line.startswith("READY "):
            _stop(proc)
            raise RuntimeError(f"the benchmark server did not start: {line!r} (see bench.log)")
        self.port = int(line.split()[1])
        # What the server really runs on (the report states it; a server sharing the client's
        # core would make every throughput figure a measure of both).
        self.server_affinity = _affinity(proc.pid)
        return proc

    def _record(
        self, kind: str, scenario: str, client: str, loop: str, rep: int, answer: dict[str, Any]
    ) -> None:
        record = {"kind": kind, "scenario": scenario, "client": client, "loop": loop, "rep": rep}
        record.update(answer)
        self.records.append(record)
        summary = answer.get("reason", "")
        result = answer.get("result") or {}
        if answer["status"] == "ok" and result.get("messages") and "cpu_s" in result:
            cpu_us = result["cpu_s"] / result["messages"] * 1e6
            summary = (
                f"{cpu_us:8.1f} us CPU/msg  {result['messages'] / result['wall_s']:9.0f} msg/s"
            )
        took, self._last = time.monotonic() - self._last, time.monotonic()
        self.progress(
            f"[{rep + 1}] {scenario:<15} {loop:<8} {client:<12} {answer['status']:<5} "
            f"{took:5.1f}s {summary}"
        )

    def _load(
        self,
        rep: int,
        scenario: str,
        loop: str,
        client: str,
        workers: dict[str, WorkerProcess],
        log: IO[str],
    ) -> None:
        native = NATIVE_ONLY.get(scenario)
        if native is not None and client != native:
            return
        if client == "boto3":
            if loop != self.loops[0]:
                return  # synchronous: the event loop does not matter, run it once
            loop = "threads"
        worker = workers.get(client)
        if worker is None:
            worker = workers[client] = WorkerProcess(client, self.port, self.client_cpu, log)
        limits = {"max_messages": self.mode.max_messages, "max_seconds": self.mode.max_seconds}
        command = {
            "op": "load",
            "scenario": scenario,
            "loop": "asyncio" if loop == "threads" else loop,
            "limits": limits,
            "queue": f"b-{scenario}-{client}-{loop}-{rep}".replace("_", "-"),
        }
        answer = worker.request(command, timeout=self.mode.max_seconds * 3 + 90)
        self._record("load", scenario, client, loop, rep, answer)

    def _startup(self, rep: int, order: list[str], admin: Admin, log: IO[str]) -> None:
        admin.fill("startup", 0, "x")
        for client in order:
            if client not in STARTUP_CLIENTS:
                reason = f"not measured: it imports what {SOCKET_FLOOR} does (the yardstick row)"
                answer = {"status": "n/a", "reason": reason}
                self._record("startup", "startup", client, "asyncio", rep, answer)
                continue
            args = [sys.executable, "-m", "benchmarks.startup", client, str(self.port), "startup"]
            if self.client_cpu is not None:
                args.append(str(self.client_cpu))
            try:
                done = subprocess.run(
                    args, capture_output=True, text=True, timeout=120, env=_env(), check=False
                )
                lines = done.stdout.strip().splitlines()
                log.write(done.stderr)
                answer = (
                    json.loads(lines[-1])
                    if lines
                    else {"status": "error", "reason": done.stderr[-300:]}
                )
            except subprocess.TimeoutExpired:
                answer = {"status": "error", "reason": "timed out"}
            self._record("startup", "startup", client, "asyncio", rep, answer)

    def _cli_commands(self, queue_url: str) -> dict[str, tuple[list[str], str]]:
        """The command lines of the CLI measure: (argv, what it is), by row name."""
        endpoint = f"http://127.0.0.1:{self.port}"
        script = Path(sys.executable).with_name("sqs-async")
        ours = [str(script)] if script.exists() else [sys.executable, "-m", "sqs_async"]
        commands = {
            "sqs_async": (
                [*ours, "--endpoint-url", endpoint, "count", queue_url.rpartition("/")[2]],
                "sqs-async count QUEUE",
            )
        }
        if self.aws_cli:
            commands["aws-cli"] = (
                [
                    self.aws_cli,
                    "sqs",
                    "get-queue-attributes",
                    "--queue-url",
                    queue_url,
                    "--attribute-names",
                    "ApproximateNumberOfMessages",
                    "--endpoint-url",
                    endpoint,
                ],
                "aws sqs get-queue-attributes",
            )
        one_liner = (
            "import boto3, sys; print(boto3.client('sqs', endpoint_url=sys.argv[1])"
            ".get_queue_attributes(QueueUrl=sys.argv[2], AttributeNames="
            "['ApproximateNumberOfMessages'])['Attributes']['ApproximateNumberOfMessages'])"
        )
        commands["boto3"] = (
            [sys.executable, "-c", one_liner, endpoint, queue_url],
            "python -c 'boto3...get_queue_attributes'",
        )
        return commands

    def _cli(self, rep: int, admin: Admin, log: IO[str]) -> None:
        """Wall time of one whole command-line process asking for a queue's message count."""
        admin.fill("cli", 0, "x")  # creates it
        admin.purge("cli")  # what earlier repetitions left
        admin.fill("cli", 3, "x")
        queue_url = f"http://127.0.0.1:{self.port}/000000000000/cli"
        env = _env()
        env.update(
            AWS_ACCESS_KEY_ID=KEY_ID,
            AWS_SECRET_ACCESS_KEY=SECRET,
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
        )
        for client, (argv, what) in self._cli_commands(queue_url).items():
            start = time.perf_counter()
            try:
                done = subprocess.run(
                    argv, capture_output=True, text=True, timeout=120, env=env, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                answer = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
            else:
                wall = time.perf_counter() - start
                log.write(done.stderr)
                if done.returncode == 0 and "3" in done.stdout:
                    answer = {"status": "ok", "result": {"wall_s": wall}}
                else:
                    output = " ".join((done.stderr or done.stdout).split())
                    reason = f"exit {done.returncode}: {output[-200:]}"
                    answer = {"status": "error", "reason": reason}
            answer["command"] = what
            self._record("cli", "cli", client, "asyncio", rep, answer)

    def _rss(self, log: IO[str]) -> None:
        for client in self.clients:
            worker = WorkerProcess(client, self.port, self.client_cpu, log)  # a fresh process
            command = {
                "op": "rss",
                "loop": "asyncio",
                "messages": self.mode.rss_messages,
                "max_seconds": self.mode.rss_max_seconds,
                "queue": f"b-rss-{client}".replace("_", "-"),
            }
            try:
                answer = worker.request(command, timeout=self.mode.rss_max_seconds + 120)
            finally:
                worker.close()
            loop = "threads" if client == "boto3" else "asyncio"
            self._record("rss", "rss", client, loop, 0, answer)

    def _meta(self, started: float) -> dict[str, Any]:
        versions: dict[str, str | None] = {}
        for package in (
            "sqs_async",
            "aiobotocore",
            "botocore",
            "boto3",
            "aiosqs",
            "aiohttp",
            "uvloop",
            "orjson",
        ):
            try:
                from importlib.metadata import version

                versions[package] = version(package)
            except Exception:
                versions[package] = None
        return {
            "mode": asdict(self.mode),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "duration_s": round(time.time() - started, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus_available": available_cpus(),
            "server_cpu": self.server_cpu,
            "client_cpu": self.client_cpu,
            "server_affinity": getattr(self, "server_affinity", None),
            "client_affinity": _affinity(0),
            "load_average_start": self.load_average_start,
            "load_average": list(os.getloadavg()),
            "clients": list(self.clients),
            "aws_cli": self.aws_cli,
            "loops": list(self.loops),
            "versions": versions,
        }
