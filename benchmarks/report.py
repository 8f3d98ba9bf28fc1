"""From raw runs to the summary: medians, ranges, ratios; rendered as JSON and markdown.

Layer: pure functions over the harness's records; no I/O except `write_outputs`.

Per load run (one timed window): client CPU = `process_time` delta of the client process;
requests and server CPU = deltas of the server's counters over the same window. Ratios compare
the median client CPU per message with the raw-aiohttp floor and with aiobotocore on the same
event loop (boto3, which has no event loop, is compared with the asyncio rows).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.clients import ADAPTERS, BASELINE, FLOOR
from benchmarks.scenarios import LOAD_SCENARIOS

LOAD_METRICS = (
    "cpu_us_per_msg",
    "cpu_us_per_req",
    "req_per_s",
    "msg_per_s",
    "server_cpu_us_per_req",
    "client_core_busy",
)
STARTUP_METRICS = ("import_ms", "first_response_cold_ms", "first_response_warm_ms")
RSS_METRICS = ("messages", "rss_start_mib", "rss_peak_mib", "rss_growth_mib", "rss_end_mib")


def _load_metrics(result: dict[str, Any]) -> dict[str, float]:
    messages = max(result["messages"], 1)
    requests = max(result["requests"], 1)
    wall = max(result["wall_s"], 1e-9)
    return {
        "cpu_us_per_msg": result["cpu_s"] / messages * 1e6,
        "cpu_us_per_req": result["cpu_s"] / requests * 1e6,
        "req_per_s": result["requests"] / wall,
        "msg_per_s": result["messages"] / wall,
        "server_cpu_us_per_req": result["server_cpu_s"] / requests * 1e6,
        "client_core_busy": result["cpu_s"] / wall,
    }


def _startup_metrics(result: dict[str, Any]) -> dict[str, float]:
    return {
        "import_ms": result["import_s"] * 1e3,
        "first_response_cold_ms": result["first_response_cold_s"] * 1e3,
        "first_response_warm_ms": result["first_response_warm_s"] * 1e3,
    }


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _row(key: tuple[str, str, str], runs: list[dict[str, Any]], metrics_of: Any) -> dict[str, Any]:
    scenario, client, loop = key
    row: dict[str, Any] = {"scenario": scenario, "client": client, "loop": loop, "reps": len(runs)}
    ok = [run for run in runs if run["status"] == "ok"]
    if not ok:
        statuses = {run["status"] for run in runs}
        row["status"] = "error" if "error" in statuses else "n/a"
        row["reason"] = next(
            (run.get("reason", "") for run in runs if run["status"] == row["status"]), ""
        )
        row["metrics"] = {}
        return row
    row["status"] = "ok"
    if len(ok) < len(runs):
        failed = next(run for run in runs if run["status"] != "ok")
        row["reason"] = (
            f"{len(runs) - len(ok)} of {len(runs)} runs failed: {failed.get('reason', '')}"
        )
    samples = [metrics_of(run["result"]) for run in ok]
    row["metrics"] = {name: _spread([s[name] for s in samples]) for name in samples[0]}
    return row


def _group(
    runs: list[dict[str, Any]], kind: str
) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        if run["kind"] == kind:
            groups[(run["scenario"], run["client"], run["loop"])].append(run)
    return groups


def _note(scenario: str, client: str) -> str:
    notes = ADAPTERS[client].notes if client in ADAPTERS else {}
    return notes.get(scenario) or notes.get("*", "")


def _ratio(row: dict[str, Any], reference: dict[str, Any] | None, metric: str) -> float | None:
    if not reference or row["status"] != "ok" or reference["status"] != "ok":
        return None
    ours, theirs = row["metrics"][metric]["median"], reference["metrics"][metric]["median"]
    return ours / theirs if theirs else None


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    runs = raw["runs"]
    load = [_row(key, group, _load_metrics) for key, group in _group(runs, "load").items()]
    index = {(r["scenario"], r["client"], r["loop"]): r for r in load}
    # Peers have no auto-batching writer: their batch_writer rows are their SendMessage rows.
    for row in [r for r in load if r["scenario"] == "send"]:
        if ("batch_writer", row["client"], row["loop"]) not in index:
            copy = {
                **row,
                "scenario": "batch_writer",
                "note": "single SendMessage (its SendMessage runs)",
            }
            load.append(copy)
            index[("batch_writer", row["client"], row["loop"])] = copy
    for row in load:
        row.setdefault("note", _note(row["scenario"], row["client"]))
        loop = "asyncio" if row["loop"] == "threads" else row["loop"]
        row["ratios"] = {
            "vs_floor": _ratio(row, index.get((row["scenario"], FLOOR, loop)), "cpu_us_per_msg"),
            "vs_aiobotocore": _ratio(
                row, index.get((row["scenario"], BASELINE, loop)), "cpu_us_per_msg"
            ),
        }
    order = {name: i for i, name in enumerate(LOAD_SCENARIOS)}
    clients = {name: i for i, name in enumerate(raw["meta"]["clients"])}
    loops = {"asyncio": 0, "uvloop": 1, "threads": 2}
    load.sort(
        key=lambda r: (
            order.get(r["scenario"], 99),
            loops.get(r["loop"], 9),
            clients.get(r["client"], 99),
        )
    )

    startup = [_row(key, group, _startup_metrics) for key, group in _group(runs, "startup").items()]
    rss = [
        _row(key, group, lambda result: {m: result[m] for m in RSS_METRICS})
        for key, group in _group(runs, "rss").items()
    ]
    for rows, metric in ((startup, "first_response_cold_ms"), (rss, "rss_growth_mib")):
        by_client = {r["client"]: r for r in rows}
        for row in rows:
            row["ratios"] = {
                "vs_floor": _ratio(row, by_client.get(FLOOR), metric),
                "vs_aiobotocore": _ratio(row, by_client.get(BASELINE), metric),
            }
            row["note"] = _note(row["scenario"], row["client"])
        rows.sort(key=lambda r: clients.get(r["client"], 99))
    return {"meta": raw["meta"], "load": load, "startup": startup, "rss": rss, "runs": runs}


# ---- markdown --------------------------------------------------------------------------------


def _num(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(row: dict[str, Any], metric: str, spread: bool = False) -> str:
    if row["status"] != "ok":
        return ""
    value = row["metrics"][metric]
    text = _num(value["median"])
    if spread and value["min"] != value["max"]:
        text += f" ({_num(value['min'])}-{_num(value['max'])})"
    return text


def _ratio_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def _status_cell(row: dict[str, Any]) -> str:
    if row["status"] == "ok":
        return str(row.get("note", "")) + (f" ⚠ {row['reason']}" if row.get("reason") else "")
    label = "n/a (not available: " if row["status"] == "n/a" else "error ("
    return f"{label}{row.get('reason', '')})".replace("|", "/")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines


def _affinity_note(meta: dict[str, Any]) -> str:
    """What the processes were really allowed to run on (recorded by the harness)."""
    server, client = meta.get("server_affinity"), meta.get("client_affinity")
    if server is None or client is None:
        return ""
    return f" (checked: server on {server}, harness and clients on {client})"


def markdown(summary: dict[str, Any]) -> str:
    meta = summary["meta"]
    mode = meta["mode"]
    lines = [
        f"# sqs_async benchmarks ({mode['name']} mode)",
        "",
        f"{meta['started']}, {meta['duration_s']} s; Python {meta['python']}; "
        f"{meta['platform']}.  ",
        f"Server pinned to core {meta['server_cpu']}, clients to core {meta['client_cpu']}"
        + _affinity_note(meta)
        + "; "
        f"load average at start {meta.get('load_average_start', meta['load_average'])[0]:.2f}.  ",
        f"{mode['reps']} interleaved repetitions per cell; each timed window ends at "
        f"{mode['max_messages']:,} messages or {mode['max_seconds']} s. Cells: median (min-max).  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v) + ".",
        "",
        "Client CPU is the client process's CPU time (all threads) over the timed window; "
        "ratios compare median client CPU per message with the raw-aiohttp floor and with "
        "aiobotocore on the same loop. Server CPU per request shows whether the server or the "
        "client was the bottleneck. Lower is better except req/s and msg/s.",
    ]
    header = [
        "client",
        "loop",
        "client CPU µs/msg",
        "client CPU µs/req",
        "req/s",
        "msg/s",
        "server CPU µs/req",
        "client core busy",
        "vs floor",
        "vs aiobotocore",
        "notes",
    ]
    for scenario, title in LOAD_SCENARIOS.items():
        rows = [r for r in summary["load"] if r["scenario"] == scenario]
        lines += ["", f"## {title}", ""]
        lines += _table(
            header,
            [
                [
                    r["client"],
                    r["loop"],
                    _cell(r, "cpu_us_per_msg", spread=True),
                    _cell(r, "cpu_us_per_req"),
                    _cell(r, "req_per_s"),
                    _cell(r, "msg_per_s", spread=True),
                    _cell(r, "server_cpu_us_per_req"),
                    _cell(r, "client_core_busy"),
                    _ratio_cell(r["ratios"]["vs_floor"]),
                    _ratio_cell(r["ratios"]["vs_aiobotocore"]),
                    _status_cell(r),
                ]
                for r in rows
            ],
        )
    lines += ["", "## Start-up (fresh interpreter per client and repetition)", ""]
    lines += _table(
        [
            "client",
            "import ms",
            "create → first response ms (cold)",
            "(warm)",
            "vs floor",
            "vs aiobotocore",
            "notes",
        ],
        [
            [
                r["client"],
                _cell(r, "import_ms", spread=True),
                _cell(r, "first_response_cold_ms", spread=True),
                _cell(r, "first_response_warm_ms"),
                _ratio_cell(r["ratios"]["vs_floor"]),
                _ratio_cell(r["ratios"]["vs_aiobotocore"]),
                _status_cell(r),
            ]
            for r in summary["startup"]
        ],
    )
    lines += [
        "",
        f"## Consumer memory over up to {mode['rss_messages']:,} messages or "
        f"{mode['rss_max_seconds']:.0f} s (fresh process, asyncio)",
        "",
    ]
    lines += _table(
        [
            "client",
            "messages",
            "RSS start MiB",
            "peak MiB",
            "growth MiB",
            "end MiB",
            "vs aiobotocore",
            "notes",
        ],
        [
            [
                r["client"],
                _cell(r, "messages"),
                _cell(r, "rss_start_mib"),
                _cell(r, "rss_peak_mib"),
                _cell(r, "rss_growth_mib"),
                _cell(r, "rss_end_mib"),
                _ratio_cell(r["ratios"]["vs_aiobotocore"]),
                _status_cell(r),
            ]
            for r in summary["rss"]
        ],
    )
    return "\n".join(lines) + "\n"


def write_outputs(summary: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """results.json and results.md (the chart is written by `benchmarks.chart`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "results.json", "markdown": out_dir / "results.md"}
    paths["json"].write_text(json.dumps(summary, indent=1, sort_keys=False) + "\n")
    paths["markdown"].write_text(markdown(summary))
    return paths
