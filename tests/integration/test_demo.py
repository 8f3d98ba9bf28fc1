"""The demo (``python -m sqs_async demo`` and ``run_demo``) and the ``__main__`` dispatcher."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from compat import LOCAL_COUNTS_IN_FLIGHT, known_divergent

import sqs_async._cli as entry
from sqs_async._demo import FINISHED, STEPS, main, run_demo

ROOT = Path(__file__).resolve().parents[2]


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqs_async", *args],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.integration
def test_demo_command_with_embedded_server() -> None:
    result = run_module("demo")
    assert result.returncode == 0, result.stderr
    assert FINISHED in result.stdout
    assert f"[{STEPS}/{STEPS}]" in result.stdout


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
@pytest.mark.integration
async def test_run_demo_in_process(sqs_endpoint: str) -> None:
    lines: list[str] = []
    await run_demo(sqs_endpoint, out=lines.append)
    output = "\n".join(lines)
    assert lines[-1].strip() == FINISHED
    for number in range(1, STEPS + 1):
        assert f"[{number:>2}/{STEPS}]" in output
    assert "refused:" in output  # delete_queue refused the non-empty queue
    assert "clear() removed 5 messages" in output


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
@pytest.mark.integration
def test_demo_main_with_endpoint(sqs_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--endpoint-url", sqs_endpoint]) == 0
    assert FINISHED in capsys.readouterr().out


@known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)
@pytest.mark.integration
def test_demo_command_with_endpoint(sqs_endpoint: str) -> None:
    result = run_module("demo", "--endpoint-url", sqs_endpoint)
    assert result.returncode == 0, result.stderr
    assert FINISHED in result.stdout


def test_demo_reports_an_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
    assert main(["--endpoint-url", "http://127.0.0.1:9"]) == 1
    assert "demo failed" in capsys.readouterr().err


def test_module_entry_dispatches_demo_to_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[list[str]] = []

    def fake_demo(argv: list[str]) -> int:
        called.append(argv)
        return 0

    monkeypatch.setattr("sqs_async._demo.main", fake_demo)
    assert entry.main(["demo", "--endpoint-url", "http://127.0.0.1:9"]) == 0
    assert called == [["--endpoint-url", "http://127.0.0.1:9"]]
