"""Run the integration suite against each SQS-compatible server and print a matrix.

Used by ``scripts/compat`` (run it from anywhere; see ``scripts/compat --help``). For each
server, one at a time: install it into the cache directory (``.compat/`` by default, once),
start it on a free port bound to 127.0.0.1 only, check that nothing else is bound, run
``pytest tests/integration -m integration`` with ``SQS_ASYNC_TEST_ENDPOINT`` pointing at it and
``SQS_ASYNC_COMPAT_SERVER=<name>`` (which turns the ``known_divergent`` marks of
``tests/compat.py`` into ``xfail(strict=False)``), stop it, and record each outcome.

Every step has a deadline: installs, start-up, the suite, shutdown. Only processes started here
are signalled, by their process group id. Not part of CI: it downloads ~700 MB the first time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

MOTO_VERSION = "5.2.5"
LOCALSTACK_PINS = (
    "localstack-core[runtime]==2026.3.0",
    # Unpinned, these pull releases that break localstack-core 2026.3.0 (PEERS.md §2).
    "cbor2<6",
    "cryptography<44",
    "pyopenssl<24.3",
    "service_identity",
)
LOCALSTACK_PYTHON_VERSION = "3.13.0"  # 3.11/3.12 cannot import it (PEP 695 syntax)
FAUXQS_PACKAGES = ("node@22", "fauxqs@2.4.1")  # fauxqs 2 needs Node >= 22.5
LOCAL_AWS_SQS_PACKAGES = ("local-aws-sqs@2.0.2",)

INSTALL_TIMEOUT = 900.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
SUITE_TIMEOUT = 3600.0
PROBE_TIMEOUT = 2.0
CATEGORIES = ("passed", "failed", "error", "xfailed", "xpassed", "skipped")


def log(text: str) -> None:
    print(f"[compat] {text}", file=sys.stderr, flush=True)


def run(command: Sequence[str], *, cwd: Path, timeout: float, log_file: Path) -> None:
    """Run an install step with a deadline, its output appended to ``log_file``."""
    with log_file.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        subprocess.run(
            list(command),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=True,
        )


def stamped(directory: Path, key: str) -> bool:
    """Whether ``directory`` was installed with exactly ``key`` (the pins) before."""
    stamp = directory / ".compat-stamp"
    return stamp.is_file() and stamp.read_text(encoding="utf-8") == key


def stamp(directory: Path, key: str) -> None:
    (directory / ".compat-stamp").write_text(key, encoding="utf-8")


# -- servers -----------------------------------------------------------------------------------


@dataclass
class Server:
    """How to install, start and describe one server."""

    name: str
    install: Callable[[Path, Path], None]  # (cache dir, install log)
    command: Callable[[Path, int], tuple[list[str], dict[str, str]]]  # -> argv, extra env
    version: Callable[[Path], str]
    cwd: Callable[[Path], Path] = lambda cache: cache


def install_moto(cache: Path, log_file: Path) -> None:
    check = f"import moto, flask; assert moto.__version__ == {MOTO_VERSION!r}, moto.__version__"
    run([str(VENV_PYTHON), "-c", check], cwd=ROOT, timeout=60, log_file=log_file)


def moto_command(cache: Path, port: int) -> tuple[list[str], dict[str, str]]:
    return [str(VENV_PYTHON), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], {}


def moto_version(cache: Path) -> str:
    return f"moto {MOTO_VERSION} (Python {sys.version.split()[0]})"


def localstack_python() -> Path:
    explicit = os.environ.get("LOCALSTACK_PYTHON")
    if explicit:
        return Path(explicit)
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        raise RuntimeError("LocalStack needs Python 3.13: install pyenv or set LOCALSTACK_PYTHON")
    root = subprocess.run(
        [pyenv, "root"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    return Path(root) / "versions" / LOCALSTACK_PYTHON_VERSION / "bin" / "python"


def install_localstack(cache: Path, log_file: Path) -> None:
    home = cache / "localstack"
    key = " ".join(LOCALSTACK_PINS)
    if stamped(home, key):
        return
    home.mkdir(parents=True, exist_ok=True)
    venv = home / "venv"
    if not (venv / "bin" / "python").exists():
        create = [str(localstack_python()), "-m", "venv", str(venv)]
        run(create, cwd=home, timeout=120, log_file=log_file)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    run([*pip, *LOCALSTACK_PINS], cwd=home, timeout=INSTALL_TIMEOUT, log_file=log_file)
    stamp(home, key)


def localstack_command(cache: Path, port: int) -> tuple[list[str], dict[str, str]]:
    home = cache / "localstack"
    env = {
        # The default (twisted) gateway ignores the host and binds 0.0.0.0; hypercorn does not.
        "GATEWAY_SERVER": "hypercorn",
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "SERVICES": "sqs",
        "SQS_ENDPOINT_STRATEGY": "path",
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "LOCALSTACK_VOLUME_DIR": str(home / "volume"),
        "TMPDIR": str(home / "tmp"),
    }
    (home / "volume").mkdir(exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    return [str(home / "venv" / "bin" / "python"), "-m", "localstack.runtime.main"], env


def localstack_version(cache: Path) -> str:
    python = cache / "localstack" / "venv" / "bin" / "python"
    code = (
        "import importlib.metadata as m, sys;"
        "print(m.version('localstack-core'), sys.version.split()[0])"
    )
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    return f"localstack-core {out[0]} (Python {out[1]})"


def npm_install(home: Path, packages: Sequence[str], launcher: str, log_file: Path) -> None:
    key = " ".join(packages)
    if not stamped(home, key):
        home.mkdir(parents=True, exist_ok=True)
        (home / "package.json").write_text('{"private": true}\n', encoding="utf-8")
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed")
        command = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *packages]
        run(command, cwd=home, timeout=INSTALL_TIMEOUT, log_file=log_file)
        stamp(home, key)
    # Next to node_modules, so that its bare import resolves; refreshed on every run.
    shutil.copyfile(SUPPORT / launcher, home / launcher)


def package_version(home: Path, package: str) -> str:
    data = json.loads((home / "node_modules" / package / "package.json").read_text("utf-8"))
    return str(data["version"])


def install_fauxqs(cache: Path, log_file: Path) -> None:
    npm_install(cache / "fauxqs", FAUXQS_PACKAGES, "fauxqs_server.mjs", log_file)


def fauxqs_node(cache: Path) -> str:
    return str(cache / "fauxqs" / "node_modules" / ".bin" / "node")


def fauxqs_command(cache: Path, port: int) -> tuple[list[str], dict[str, str]]:
    return [fauxqs_node(cache), "fauxqs_server.mjs", str(port)], {}


def fauxqs_version(cache: Path) -> str:
    node = subprocess.run(
        [fauxqs_node(cache), "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    return f"fauxqs {package_version(cache / 'fauxqs', 'fauxqs')} (Node {node.lstrip('v')})"


def install_local_aws_sqs(cache: Path, log_file: Path) -> None:
    home = cache / "local-aws-sqs"
    npm_install(home, LOCAL_AWS_SQS_PACKAGES, "local_aws_sqs_server.mjs", log_file)


def local_aws_sqs_command(cache: Path, port: int) -> tuple[list[str], dict[str, str]]:
    node = shutil.which("node") or "node"
    return [node, "local_aws_sqs_server.mjs", str(port)], {}


def local_aws_sqs_version(cache: Path) -> str:
    node = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    home = cache / "local-aws-sqs"
    return f"local-aws-sqs {package_version(home, 'local-aws-sqs')} (Node {node.lstrip('v')})"


SERVERS: dict[str, Server] = {
    "moto": Server("moto", install_moto, moto_command, moto_version),
    "localstack": Server(
        "localstack",
        install_localstack,
        localstack_command,
        localstack_version,
        lambda cache: cache / "localstack",
    ),
    "fauxqs": Server(
        "fauxqs", install_fauxqs, fauxqs_command, fauxqs_version, lambda cache: cache / "fauxqs"
    ),
    "local-aws-sqs": Server(
        "local-aws-sqs",
        install_local_aws_sqs,
        local_aws_sqs_command,
        local_aws_sqs_version,
        lambda cache: cache / "local-aws-sqs",
    ),
}


# -- running one server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def list_queues_ready(port: int) -> bool:
    """A JSON ListQueues with a well-formed dummy SigV4 header answers 200 (as sqs_async.local
    probes moto: without ``/sqs/`` in the credential scope moto would answer as S3)."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    scope = f"{amz_date[:8]}/us-east-1/sqs/aws4_request"
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AmazonSQS.ListQueues",
        "X-Amz-Date": amz_date,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential=testing/{scope}, "
            f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={'0' * 64}"
        ),
    }
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
    try:
        conn.request("POST", "/", body=b"{}", headers=headers)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        return False
    else:
        return response.status == 200
    finally:
        conn.close()


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port`` (Linux ``/proc/net/tcp*``)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
                fields = line.split()
                address, hex_port = fields[1].rsplit(":", 1)
                if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1, as /proc shows


def start(server: Server, cache: Path, port: int, log_file: Path) -> subprocess.Popen[bytes]:
    command, extra = server.command(cache, port)
    env = {**os.environ, **extra, "PYTHONUNBUFFERED": "1"}
    with log_file.open("wb") as out:
        # A session of its own: stop() can signal its whole process group (and nothing else).
        return subprocess.Popen(
            command,
            cwd=server.cwd(cache),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(process: subprocess.Popen[bytes], port: int, log_file: Path) -> float:
    started = time.monotonic()
    deadline = started + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}; see {log_file}")
        if list_queues_ready(port):
            addresses = listening_addresses(port)
            if addresses - LOOPBACK:
                raise RuntimeError(f"bound to non-loopback addresses {sorted(addresses)}")
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"not ready after {READY_TIMEOUT:g} s; see {log_file}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM its process group, wait, then SIGKILL it. Only the group started here."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any


@dataclass
class Outcome:
    """What one server's run produced."""

    server: str
    version: str = ""
    startup: float = 0.0
    duration: float = 0.0
    problem: str = ""  # set when the suite could not run at all
    results: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def count(self, category: str) -> int:
        return len(self.results.get(category, []))


def run_suite(
    name: str, endpoint: str, results: Path, pytest_args: Sequence[str]
) -> tuple[dict[str, list[dict[str, str]]], float]:
    report = results / f"{name}.json"
    report.unlink(missing_ok=True)
    env = {
        **os.environ,
        "SQS_ASYNC_TEST_ENDPOINT": endpoint,
        "SQS_ASYNC_COMPAT_SERVER": name,
        "SQS_ASYNC_COMPAT_REPORT": str(report),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SUPPORT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        str(VENV_PYTHON),
        "-m",
        "pytest",
        "tests/integration",
        "-m",
        "integration",
        "-q",
        "-rA",
        "-p",
        "compat_report",
        "-p",
        "no:cacheprovider",
        f"--junitxml={results / f'{name}.xml'}",
        *pytest_args,
    ]
    started = time.monotonic()
    with (results / f"{name}.log").open("wb") as out:
        subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=SUITE_TIMEOUT,
            check=False,
        )
    elapsed = time.monotonic() - started
    if not report.exists():
        raise RuntimeError(f"pytest wrote no report; see {results / f'{name}.log'}")
    data: dict[str, list[dict[str, str]]] = json.loads(report.read_text(encoding="utf-8"))
    return data, elapsed


def check_one(server: Server, cache: Path, pytest_args: Sequence[str], install: bool) -> Outcome:
    outcome = Outcome(server.name)
    logs = cache / "logs"
    results = cache / "results"
    logs.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    try:
        if install:
            log(f"{server.name}: installing (log: {logs / f'{server.name}-install.log'})")
            server.install(cache, logs / f"{server.name}-install.log")
        outcome.version = server.version(cache)
        port = free_port()
        server_log = logs / f"{server.name}-server.log"
        log(f"{server.name}: starting {outcome.version} on 127.0.0.1:{port}")
        process = start(server, cache, port, server_log)
        try:
            outcome.startup = wait_ready(process, port, server_log)
            log(f"{server.name}: ready in {outcome.startup:.1f} s; running the suite")
            outcome.results, outcome.duration = run_suite(
                server.name, f"http://127.0.0.1:{port}", results, pytest_args
            )
        finally:
            stop(process)
    except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as exc:
        outcome.problem = f"{type(exc).__name__}: {exc}"
        log(f"{server.name}: {outcome.problem}")
    return outcome


# -- the matrix --------------------------------------------------------------------------------


def matrix(outcomes: Sequence[Outcome]) -> str:
    lines = [
        "| server | version | passed | failed | errors | known divergent (xfail) | xpassed "
        "| skipped | suite time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        if o.problem:
            lines.append(f"| {o.server} | {o.version or '?'} | not run: {o.problem} |||||||")
            continue
        counts = " | ".join(str(o.count(c)) for c in CATEGORIES)
        lines.append(f"| {o.server} | {o.version} | {counts} | {o.duration:.0f} s |")
    lines.append("")
    for o in outcomes:
        for category in ("failed", "error", "xfailed", "xpassed"):
            for entry in o.results.get(category, []):
                reason = entry.get("reason", "")
                lines.append(f"- {o.server} {category.upper()} `{entry['test']}`: {reason}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/compat",
        description="Run tests/integration against moto, LocalStack, fauxqs and local-aws-sqs.",
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated, in order (default: {','.join(SERVERS)})",
    )
    parser.add_argument("--cache", type=Path, default=ROOT / ".compat", help="install directory")
    parser.add_argument("--no-install", action="store_true", help="use what the cache holds")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        parser.error(f"unknown servers {unknown}; known: {sorted(SERVERS)}")
    if not VENV_PYTHON.exists():
        parser.error(f"{VENV_PYTHON} is missing: run scripts/test once to create it")
    cache: Path = args.cache.resolve()
    outcomes = []
    for name in names:
        outcomes.append(check_one(SERVERS[name], cache, args.pytest_args, not args.no_install))
    table = matrix(outcomes)
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    text = f"Compatibility run of {when}\n\n{table}\n"
    (cache / "results" / "matrix.md").write_text(text, encoding="utf-8")
    summary = [o.__dict__ for o in outcomes]
    (cache / "results" / "summary.json").write_text(
        json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    print(text)
    return 1 if any(o.problem or o.count("failed") or o.count("error") for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
