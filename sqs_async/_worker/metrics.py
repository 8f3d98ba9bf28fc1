"""Metrics across processes: each child reports snapshots, the supervisor sums them.

Layer: the runner's room. Why the supervisor aggregates rather than prometheus-client's
multiprocess mode: the consumer already counts everything in ``statistics()``, so a child
needs no per-message work for the counters and gauges at all (a snapshot a second), and only
the handler-duration histogram takes a hook (a bisect and two additions per message). The
multiprocess mode would write to a memory-mapped file under a lock for every counter on
every message, needs a directory shared and cleaned between runs, and its gauges need
special modes. The same snapshots carry the pollers' health for ``/healthz``.

prometheus-client is imported only by the supervisor, and only with ``--metrics-port``:
it builds the metric families and writes the exposition format.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._hooks import ConsumerHooks, ConsumerStatistics
from .._message import Message

__all__ = ["BUCKETS", "DurationHook", "Metrics", "snapshot"]

#: prometheus-client's default buckets (seconds); the last is +Inf.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
COUNTERS = (
    ("received", "sqs_async_messages_received", "Messages received from SQS."),
    ("handled", "sqs_async_messages_handled", "Handler calls that succeeded."),
    ("failed", "sqs_async_messages_failed", "Handler calls that failed (retried later)."),
    ("deleted", "sqs_async_messages_deleted", "Messages deleted after their handler succeeded."),
    ("released", "sqs_async_messages_released", "Messages made visible again unhandled."),
)
#: A child whose last snapshot is older than this many report intervals counts as unhealthy.
STALE_INTERVALS = 3


class DurationHook(ConsumerHooks):
    """The one per-message hook: handler durations into fixed buckets (a child's histogram)."""

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0

    def on_handled(self, message: Message, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sum += seconds


def snapshot(statistics: ConsumerStatistics, hook: DurationHook) -> dict[str, Any]:
    """A child's report: the consumer's counters, its pollers, and the histogram."""
    data: dict[str, Any] = {name: getattr(statistics, name) for name, _, _ in COUNTERS}
    data.update(
        in_flight=statistics.in_flight,
        oldest_buffer_age=statistics.oldest_buffer_age,
        lease_headroom=statistics.lease_headroom,
        pollers=statistics.pollers,
        pollers_alive=statistics.pollers_alive,
        buckets=list(hook.counts),
        duration_sum=hook.sum,
    )
    return data


@dataclass
class _Totals:
    """Counters of children that have exited, so the sums never go backwards."""

    counters: dict[str, float] = field(default_factory=dict)
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    duration_sum: float = 0.0

    def add(self, report: dict[str, Any]) -> None:
        for name, _, _ in COUNTERS:
            self.counters[name] = self.counters.get(name, 0) + report.get(name, 0)
        for index, count in enumerate(report.get("buckets", ())):
            self.buckets[index] += count
        self.duration_sum += report.get("duration_sum", 0.0)


class Metrics:
    """The supervisor's view: the last report of each child, summed on every scrape.

    Args:
        queue: The ``queue`` label.
        processes: How many children should be reporting.
        interval: Seconds between a child's reports.
    """

    def __init__(self, queue: str, processes: int, interval: float) -> None:
        self.queue = queue
        self.processes = processes
        self.interval = interval
        self._live: dict[int, tuple[float, dict[str, Any]]] = {}
        self._retired = _Totals()

    def report(self, slot: int, data: dict[str, Any]) -> None:
        """A child's latest snapshot."""
        self._live[slot] = (time.monotonic(), data)

    def retire(self, slot: int) -> None:
        """A child exited: keep its counters in the totals, forget its gauges."""
        entry = self._live.pop(slot, None)
        if entry is not None:
            self._retired.add(entry[1])

    def health(self, stopping: bool) -> tuple[bool, str]:
        """Whether every poller of every child is alive, and why not."""
        if stopping:
            return False, "stopping"
        now = time.monotonic()
        for slot in range(self.processes):
            entry = self._live.get(slot)
            if entry is None:
                return False, f"process {slot} is not consuming yet"
            at, data = entry
            if now - at > STALE_INTERVALS * self.interval:
                return False, f"process {slot} has not reported for {now - at:.1f} s"
            if data["pollers_alive"] < data["pollers"]:
                return False, (
                    f"process {slot}: {data['pollers_alive']} of {data['pollers']} pollers alive"
                )
        return True, "ok"

    def collect(self) -> Iterator[Any]:
        """prometheus-client's collector protocol: the families, summed across children."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        totals = _Totals(dict(self._retired.counters), list(self._retired.buckets))
        totals.duration_sum = self._retired.duration_sum
        reports = [data for _, data in self._live.values()]
        for data in reports:
            totals.add(data)
        labels = [self.queue]
        for name, metric, text in COUNTERS:
            counter = CounterMetricFamily(metric, text, labels=["queue"])
            counter.add_metric(labels, totals.counters.get(name, 0))
            yield counter
        cumulative, running = [], 0
        for bound, count in zip((*BUCKETS, float("inf")), totals.buckets, strict=True):
            running += count
            cumulative.append(("+Inf" if bound == float("inf") else str(bound), running))
        histogram = HistogramMetricFamily(
            "sqs_async_handler_duration_seconds",
            "Seconds handlers took (those that succeeded).",
            labels=["queue"],
        )
        histogram.add_metric(labels, cumulative, totals.duration_sum)
        yield histogram
        yield _gauge(
            GaugeMetricFamily,
            "sqs_async_messages_in_flight",
            "Messages being handled now.",
            labels,
            [sum(d["in_flight"] for d in reports)],
        )
        yield _gauge(
            GaugeMetricFamily,
            "sqs_async_buffer_oldest_age_seconds",
            "Seconds the oldest buffered message has waited for a handler.",
            labels,
            [max((d["oldest_buffer_age"] for d in reports), default=0.0)],
        )
        headroom = [d["lease_headroom"] for d in reports if d["lease_headroom"] is not None]
        yield _gauge(
            GaugeMetricFamily,
            "sqs_async_lease_headroom_seconds",
            "Seconds until the earliest held lease runs out (absent when none is held).",
            labels,
            [min(headroom)] if headroom else [],
        )


def _gauge(family: Any, name: str, text: str, labels: list[str], values: Sequence[float]) -> Any:
    gauge = family(name, text, labels=["queue"])
    for value in values:
        gauge.add_metric(labels, value)
    return gauge
