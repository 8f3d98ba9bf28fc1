"""The runner's parts without processes: options, handler import, metrics sums, health,
the HTTP endpoints, JSON logs."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sqs_async._cli_args import parser as _parser
from sqs_async._worker import options_from_args
from sqs_async._worker.endpoints import Endpoints
from sqs_async._worker.logs import JSONFormatter
from sqs_async._worker.metrics import BUCKETS, DurationHook, Metrics
from sqs_async._worker.options import StartupError, WorkerOptions, load_handler


def _args(*argv: str) -> argparse.Namespace:
    return _parser().parse_args(["worker", *argv])


def test_cli_arguments_become_options() -> None:
    options = options_from_args(
        _args("mod:fn", "--queue", "jobs", "--processes", "3", "--log-level", "debug")
    )
    assert options == WorkerOptions(handler="mod:fn", queue="jobs", processes=3, log_level="DEBUG")
    assert WorkerOptions.from_json(options.to_json()) == options
    auto = options_from_args(_args("mod:fn", "--queue", "jobs", "--processes", "auto"))
    assert auto.processes >= 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fn", "--queue", "q"], "MODULE:FUNCTION"),
        (["m:f", "--queue", "q", "--processes", "0"], "--processes is 0"),
        (["m:f", "--queue", "q", "--processes", "many"], "use a number or auto"),
        (["m:f", "--queue", "q", "--concurrency", "0"], "--concurrency is 0"),
        (["m:f", "--queue", "q", "--metrics-port", "70000"], "--metrics-port is 70000"),
        (["m:f", "--queue", "q", "--batch", "--max-receives", "3"], "does not apply to --batch"),
    ],
)
def test_bad_options_are_startup_errors(argv: list[str], message: str) -> None:
    with pytest.raises(StartupError, match=message):
        options_from_args(_args(*argv))


def test_queue_label_is_the_name_of_a_url() -> None:
    options = WorkerOptions(handler="m:f", queue="http://127.0.0.1:1/123456789012/jobs")
    assert options.queue_name == "jobs"


def test_handlers_are_imported_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tasks_mod.py").write_text(
        "class Jobs:\n    @staticmethod\n    async def run(m):\n        return m\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "tasks_mod", raising=False)
    handler = load_handler("tasks_mod:Jobs.run")
    assert handler.__qualname__ == "Jobs.run"
    assert sys.path[0] == str(tmp_path)


def test_an_import_error_inside_the_module_names_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_dep.py").write_text("import not_installed_anywhere\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "needs_dep", raising=False)
    with pytest.raises(StartupError, match="error while importing 'needs_dep'") as caught:
        load_handler("needs_dep:handle")
    assert "not_installed_anywhere" in str(caught.value)
    assert "\n" not in str(caught.value)


def _report(**values: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "received": 0,
        "handled": 0,
        "failed": 0,
        "deleted": 0,
        "released": 0,
        "in_flight": 0,
        "oldest_buffer_age": 0.0,
        "lease_headroom": None,
        "pollers": 2,
        "pollers_alive": 2,
        "buckets": [0] * (len(BUCKETS) + 1),
        "duration_sum": 0.0,
    }
    report.update(values)
    return report


def _samples(metrics: Metrics) -> dict[tuple[str, str], float]:
    endpoints = Endpoints(metrics, lambda: False)
    status, content_type, body = endpoints.respond("/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            assert sample.labels.get("queue") == "jobs"
            out[(sample.name, sample.labels.get("le", ""))] = sample.value
    return out


def test_metrics_are_summed_across_processes_and_survive_a_restart() -> None:
    hook = DurationHook()
    for seconds in (0.001, 0.2, 30.0):
        hook.on_handled(None, seconds)  # type: ignore[arg-type]
    metrics = Metrics("jobs", processes=2, interval=1.0)
    metrics.report(0, _report(received=5, handled=3, buckets=hook.counts, duration_sum=hook.sum))
    metrics.report(1, _report(received=7, deleted=4, in_flight=2, lease_headroom=9.5))
    metrics.retire(1)  # process 1 exited: its counters stay, its gauges go
    metrics.report(1, _report(received=1, in_flight=1, oldest_buffer_age=0.3, lease_headroom=4.0))
    samples = _samples(metrics)
    assert samples[("sqs_async_messages_received_total", "")] == 13
    assert samples[("sqs_async_messages_handled_total", "")] == 3
    assert samples[("sqs_async_messages_deleted_total", "")] == 4
    assert samples[("sqs_async_messages_failed_total", "")] == 0
    assert samples[("sqs_async_messages_released_total", "")] == 0
    assert samples[("sqs_async_messages_in_flight", "")] == 1
    assert samples[("sqs_async_buffer_oldest_age_seconds", "")] == 0.3
    assert samples[("sqs_async_lease_headroom_seconds", "")] == 4.0
    assert samples[("sqs_async_handler_duration_seconds_bucket", "0.005")] == 1
    assert samples[("sqs_async_handler_duration_seconds_bucket", "0.25")] == 2
    assert samples[("sqs_async_handler_duration_seconds_bucket", "10.0")] == 2
    assert samples[("sqs_async_handler_duration_seconds_bucket", "+Inf")] == 3
    assert samples[("sqs_async_handler_duration_seconds_count", "")] == 3
    assert samples[("sqs_async_handler_duration_seconds_sum", "")] == pytest.approx(30.201)


def test_health_needs_every_poller_of_every_process() -> None:
    metrics = Metrics("jobs", processes=2, interval=1.0)
    assert metrics.health(False) == (False, "process 0 is not consuming yet")
    metrics.report(0, _report())
    metrics.report(1, _report(pollers_alive=1))
    assert metrics.health(False) == (False, "process 1: 1 of 2 pollers alive")
    metrics.report(1, _report())
    assert metrics.health(False) == (True, "ok")
    assert metrics.health(True) == (False, "stopping")
    endpoints = Endpoints(metrics, lambda: True)
    assert endpoints.respond("/healthz")[0] == 503
    assert endpoints.respond("/nope")[0] == 404


def test_a_silent_process_is_unhealthy() -> None:
    metrics = Metrics("jobs", processes=1, interval=0.0)
    metrics.report(0, _report())
    healthy, reason = metrics.health(False)
    assert not healthy
    assert "has not reported" in reason


async def test_the_endpoints_speak_http() -> None:
    metrics = Metrics("jobs", processes=1, interval=1.0)
    metrics.report(0, _report(received=2))
    endpoints = Endpoints(metrics, lambda: False)
    port = await endpoints.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        response = await reader.read()
        writer.close()
        assert response.startswith(b"HTTP/1.0 200 OK\r\n")
        assert response.endswith(b"\r\n\r\nok\n")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /metrics HTTP/1.1\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.0 405 ")
        writer.close()
    finally:
        await endpoints.aclose()


def test_json_log_lines() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.LogRecord(
            "sqs_async.worker", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
        )
    data = json.loads(JSONFormatter().format(record))
    assert data["level"] == "ERROR"
    assert data["logger"] == "sqs_async.worker"
    assert data["message"] == "failed x"
    assert data["time"].endswith("Z")
    assert "ValueError: bad" in data["exception"]
