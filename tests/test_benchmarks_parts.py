"""``python -m benchmarks.parts``: the budget arithmetic of issue 13's targets, and that every
part it times runs. No timing assertion: the parts' sizes are only checked to be positive."""

from __future__ import annotations

import importlib
import math
from typing import Any

import pytest

# Imported by name: the benchmarks are not type-checked (their peers ship no stubs).
parts: Any = importlib.import_module("benchmarks.parts")


def _row(scenario: str, client: str, cpu_us: float, loop: str = "asyncio") -> dict[str, Any]:
    """A summary row (``benchmarks.report.summarize``) of a client that is CPU-bound."""
    metrics = {"cpu_us_per_msg": cpu_us, "msg_per_s": 1e6 / cpu_us}
    return {
        "scenario": scenario,
        "client": client,
        "loop": loop,
        "status": "ok",
        "metrics": {
            name: {"median": value, "min": value, "max": value} for name, value in metrics.items()
        },
    }


def _results() -> dict[str, Any]:
    per_msg = {  # µs of client CPU per message: socket floor, signed floor, sqs_async
        "send": (10.0, 12.0, 20.0),
        "send_batch": (2.0, 3.0, 5.0),
        "receive_delete": (4.0, 5.0, 8.0),
        "consume": (4.0, 5.0, 12.0),
    }
    load = [
        _row(scenario, client, cost)
        for scenario, costs in per_msg.items()
        for client, cost in zip(
            ("raw-socket", "raw-signed-socket", "sqs_async"), costs, strict=True
        )
    ]
    load += [_row(scenario, "sqs_async", 1.0, loop="uvloop") for scenario in per_msg]  # not read
    return {"meta": {"started": "T", "load_average_start": [0.0]}, "load": load}


def test_budget_is_the_allowed_cpu_less_the_signed_floor() -> None:
    costs = {
        "response head": 1.0,
        "request head": 0.5,
        "new_message": 0.25,
        "from_wires(10)": 2.0,
        "SuccessfulEntry": 0.125,
    }
    report = parts.report(_results(), costs)
    rows = {line.split(" |")[0].strip("| "): line for line in report.splitlines()}
    # send: floor 10, allowed 15, signed 12, budget 3; parts 1 + 0.5 + 0.25; ours 20, beyond 8
    assert rows["send ≤ 1.5x"] == "| send ≤ 1.5x | 10.0 | 15.0 | 12.0 | 3.0 | 1.8 | 20.0 | 8.0 |"
    # a batch of 10: floor 20, allowed 40, signed 30; parts 1 + 0.5 + 10 x (0.25 + 0.125)
    assert rows["send_batch ≤ 2.0x"] == (
        "| send_batch ≤ 2.0x | 20.0 | 40.0 | 30.0 | 10.0 | 5.2 | 50.0 | 20.0 |"
    )
    # receive + delete of 10: two requests, one from_wires of 10
    assert rows["receive_delete ≤ 1.5x"] == (
        "| receive_delete ≤ 1.5x | 40.0 | 60.0 | 50.0 | 10.0 | 5.0 | 80.0 | 30.0 |"
    )
    # consume: 0.8 x 250,000 msg/s on one core leaves 5 µs per message
    assert "leaves at most 5.00 µs of client CPU per message" in report
    assert "receive+delete calls spend 8.00, consume() 12.00" in report


def test_every_part_is_timed() -> None:
    costs = parts.part_costs(50)
    assert set(costs) == {
        "response head",
        "request head",
        "new_message",
        "from_wires(10)",
        "SuccessfulEntry",
    }
    for name in ("new_message", "from_wires(10)", "SuccessfulEntry"):
        assert costs[name] > 0, name
    assert all(math.isfinite(cost) for cost in costs.values())


def test_reads_the_committed_results(capsys: pytest.CaptureFixture[str]) -> None:
    parts.main(["--results", str(parts.RESULTS), "--n", "20"])
    out = capsys.readouterr().out
    for target in ("| send ≤ 1.5x |", "| send_batch ≤ 2.0x |", "| receive_delete ≤ 1.5x |"):
        assert target in out
    assert "consume ≥ 0.8x" in out
