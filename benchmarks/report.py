"""From raw runs to the summary: medians, ranges, ratios; rendered as JSON and markdown.

Layer: pure functions over the harness's records; no I/O except `write_outputs`.

Per load run (one timed window): client CPU = `process_time` delta of the client process;
requests and server CPU = deltas of the server's counters over the same window. Ratios compare
the median client CPU per message with the raw-socket floor (the headline), the signed-socket
floor (the socket floor plus the work every correct client must do), the raw-aiohttp floor and
aiobotocore on the same event loop (boto3, which has no event loop, is compared with the asyncio
rows); the consume rows also compare messages per second with both socket floors' hand-written
loops. `targets` checks the numbers against the performance issue's goals, and gives the signed
floor's own ratios to the socket floor beside them: the least any correct client can reach.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.clients import ADAPTERS, BASELINE, FLOOR, SIGNED_FLOOR, SOCKET_FLOOR
from benchmarks.scenarios import LOAD_SCENARIOS
from benchmarks.startup import STDLIB_NEEDS

LOAD_METRICS = (
    "cpu_us_per_msg",
    "cpu_us_per_req",
    "req_per_s",
    "msg_per_s",
    "server_cpu_us_per_req",
    "client_core_busy",
)
STARTUP_METRICS = (
    "import_ms",
    "import_ready_ms",
    "first_response_cold_ms",
    "first_response_warm_ms",
)
CLI_METRICS = ("wall_ms",)
RATIOS = ("vs_socket", "vs_signed", "vs_aiohttp", "vs_aiobotocore")
REFERENCES = (SOCKET_FLOOR, SIGNED_FLOOR, FLOOR, BASELINE)  # the client of each ratio
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
        "import_ready_ms": result.get("import_ready_s", result["import_s"]) * 1e3,
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
            name: _ratio(row, index.get((row["scenario"], client, loop)), "cpu_us_per_msg")
            for name, client in zip(RATIOS, REFERENCES, strict=True)
        }
        if row["scenario"] == "consume":  # a rate: higher is better
            for name, client in (("socket", SOCKET_FLOOR), ("signed", SIGNED_FLOOR)):
                reference = index.get((row["scenario"], client, loop))
                row["ratios"][f"msg_per_s_vs_{name}"] = _ratio(row, reference, "msg_per_s")
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
    cli = [
        _row(key, group, lambda result: {"wall_ms": result["wall_s"] * 1e3})
        for key, group in _group(runs, "cli").items()
    ]
    for rows, metric in (
        (startup, "first_response_cold_ms"),
        (rss, "rss_growth_mib"),
        (cli, "wall_ms"),
    ):
        by_client = {r["client"]: r for r in rows}
        for row in rows:
            row["ratios"] = {
                name: _ratio(row, by_client.get(client), metric)
                for name, client in zip(RATIOS, REFERENCES, strict=True)
            }
            row["note"] = _note(row["scenario"], row["client"])
        rows.sort(key=lambda r: clients.get(r["client"], 99))
    commands = {run["client"]: run.get("command", "") for run in runs if run["kind"] == "cli"}
    for row in cli:
        row["note"] = commands.get(row["client"], "")
    by_client = {r["client"]: r for r in startup}
    for row in startup:  # the socket floor imports just the stdlib modules sqs_async needs
        floor = by_client.get(SOCKET_FLOOR)
        row["ratios"]["import_vs_stdlib"] = _ratio(row, floor, "import_ms")
        row["ratios"]["ready_vs_stdlib"] = _ratio(row, floor, "import_ready_ms")
    summary = {
        "meta": raw["meta"],
        "load": load,
        "startup": startup,
        "rss": rss,
        "cli": cli,
        "runs": runs,
    }
    summary["targets"] = targets(summary)
    return summary


# ---- the goals of the performance issue ------------------------------------------------------

# (label, scenario, ratio, comparison, bound): sqs_async's ratio on each loop.
SOCKET_TARGETS = (
    ("SendMessage ≤ 1.5x the socket floor (CPU/msg)", "send", "vs_socket", "<=", 1.5),
    (
        "Receive(10)+DeleteBatch ≤ 1.5x the socket floor",
        "receive_delete",
        "vs_socket",
        "<=",
        1.5,
    ),
    ("SendMessageBatch(10) ≤ 2.0x the socket floor", "send_batch", "vs_socket", "<=", 2.0),
    (
        "consume() ≥ 0.8x the socket floor's loop (msg/s)",
        "consume",
        "msg_per_s_vs_socket",
        ">=",
        0.8,
    ),
)
AIOBOTOCORE_TARGETS = (
    ("≥ 4x aiobotocore, SendMessage", "send", "vs_aiobotocore", "<=", 0.25),
    ("≥ 4x aiobotocore, SendMessageBatch", "send_batch", "vs_aiobotocore", "<=", 0.25),
    ("≥ 4x aiobotocore, Receive+DeleteBatch", "receive_delete", "vs_aiobotocore", "<=", 0.25),
)

# (label, scenario, ratio): not targets but references, the signed-socket floor's own ratio to
# the socket floor on each loop: what the mandatory work of any correct client (serializing,
# signing, parsing, MD5 checks) costs on its own; the rest of a target is the library's share.
SIGNED_FLOOR_REFERENCES = (
    ("signed floor: SendMessage (the least any correct client can reach)", "send", "vs_socket"),
    ("signed floor: Receive(10)+DeleteBatch (the least)", "receive_delete", "vs_socket"),
    ("signed floor: SendMessageBatch(10) (the least)", "send_batch", "vs_socket"),
    ("signed floor: consume loop, msg/s (the most)", "consume", "msg_per_s_vs_socket"),
)


def _met(value: float | None, comparison: str, bound: float) -> bool | None:
    if value is None:
        return None
    return value <= bound if comparison == "<=" else value >= bound


def targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """sqs_async's ratios against the issue's goals, per event loop (None: not measured).

    After the four socket-floor targets come the signed floor's own ratios to the socket floor
    (``"reference": True``, ``met`` always None): how much of each target a correct client
    spends before any library work.
    """
    out: list[dict[str, Any]] = []
    index = {(r["scenario"], r["client"], r["loop"]): r for r in summary["load"]}

    def values(scenario: str, client: str, ratio: str) -> dict[str, float | None]:
        rows = {loop: index.get((scenario, client, loop)) for loop in summary["meta"]["loops"]}
        return {loop: None if r is None else r["ratios"].get(ratio) for loop, r in rows.items()}

    def goals(specs: tuple[tuple[str, str, str, str, float], ...]) -> list[dict[str, Any]]:
        rows = []
        for label, scenario, ratio, comparison, bound in specs:
            mine = values(scenario, "sqs_async", ratio)
            met = _met(mine.get("asyncio"), comparison, bound)
            rows.append(
                {"target": label, "ratio": ratio, "client": "sqs_async", "values": mine, "met": met}
            )
        return rows

    out += goals(SOCKET_TARGETS)
    out += [
        {
            "target": label,
            "ratio": ratio,
            "client": SIGNED_FLOOR,
            "values": values(scenario, SIGNED_FLOOR, ratio),
            "met": None,
            "reference": True,
        }
        for label, scenario, ratio in SIGNED_FLOOR_REFERENCES
    ]
    out += goals(AIOBOTOCORE_TARGETS)
    startup = {r["client"]: r for r in summary["startup"]}
    imports = startup.get("sqs_async")
    for ratio, label in (
        ("import_vs_stdlib", "import sqs_async ≤ 1.5x the stdlib modules it needs"),
        ("ready_vs_stdlib", "import sqs_async + resolve connect_sqs ≤ 1.5x the same"),
    ):
        value = None if imports is None else imports["ratios"].get(ratio)
        out.append(
            {
                "target": label,
                "ratio": ratio,
                "client": "sqs_async",
                "values": {"asyncio": value},
                "met": _met(value, "<=", 1.5),
            }
        )
    return out


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
        reason = " ".join(str(row.get("reason", "")).split()).replace("|", "/")
        return str(row.get("note", "")) + (f" ⚠ {reason}" if reason else "")
    label = "n/a (not available: " if row["status"] == "n/a" else "error ("
    return f"{label}{' '.join(str(row.get('reason', '')).split())})".replace("|", "/")


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
        "ratios compare median client CPU per message with the raw-socket floor (asyncio "
        "protocols writing pre-built, pre-signed bytes: the headline), the signed-socket floor "
        "(the same sockets, plus per request what every correct client must do: serialize, "
        "sign with SigV4, parse the response, check MD5s), the raw-aiohttp floor and "
        "aiobotocore on the same loop. Server CPU per request shows whether the server or "
        "the client was the bottleneck. Lower is better except req/s and msg/s.",
        "",
        "## Targets (sqs_async; asyncio decides, uvloop beside it)",
        "",
        "The `signed floor` rows are references, not targets: the signed-socket floor's own "
        "ratio to the socket floor, the least any correct client can reach (for consume, the "
        "most msg/s). What lies between it and a target is the library's share.",
        "",
    ]
    loops = meta["loops"]
    lines += _table(
        ["target", *(f"ratio ({loop})" for loop in loops), "met?"],
        [
            [
                t["target"],
                *(_ratio_cell(t["values"].get(loop)) for loop in loops),
                "reference"
                if t.get("reference")
                else {True: "yes", False: "**no**", None: "not measured"}[t["met"]],
            ]
            for t in summary.get("targets", [])
        ],
    )
    header = [
        "client",
        "loop",
        "client CPU µs/msg",
        "client CPU µs/req",
        "req/s",
        "msg/s",
        "server CPU µs/req",
        "client core busy",
        "vs socket floor",
        "vs signed floor",
        "vs aiohttp floor",
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
                    *(_ratio_cell(r["ratios"].get(name)) for name in RATIOS),
                    _status_cell(r),
                ]
                for r in rows
            ],
        )
    lines += [
        "",
        "## Start-up (fresh interpreter per client and repetition)",
        "",
        f"The {SOCKET_FLOOR} row imports only the standard-library modules sqs_async needs "
        f"({', '.join(STDLIB_NEEDS)}); `import vs stdlib` is each import time divided by it. "
        "sqs_async imports its names on first use: `+ entry point` adds resolving "
        "`sqs_async.connect_sqs` (the others have their entry point once imported).",
        "",
    ]
    lines += _table(
        [
            "client",
            "import ms",
            "import vs stdlib",
            "+ entry point ms",
            "vs stdlib",
            "create → first response ms (cold)",
            "(warm)",
            "first response vs socket floor",
            "vs aiobotocore",
            "notes",
        ],
        [
            [
                r["client"],
                _cell(r, "import_ms", spread=True),
                _ratio_cell(r["ratios"].get("import_vs_stdlib")),
                _cell(r, "import_ready_ms", spread=True),
                _ratio_cell(r["ratios"].get("ready_vs_stdlib")),
                _cell(r, "first_response_cold_ms", spread=True),
                _cell(r, "first_response_warm_ms"),
                _ratio_cell(r["ratios"]["vs_socket"]),
                _ratio_cell(r["ratios"]["vs_aiobotocore"]),
                _status_cell(r),
            ]
            for r in summary["startup"]
        ],
    )
    if summary.get("cli"):
        lines += [
            "",
            "## A command-line call: the approximate message count of a queue",
            "",
            "Wall time of a whole process, from exec to exit (interpreter start-up included).",
            "",
        ]
        lines += _table(
            ["command", "wall ms", "vs sqs-async", "notes"],
            [
                [
                    r["client"],
                    _cell(r, "wall_ms", spread=True),
                    _ratio_cell(_ratio(r, _first(summary["cli"], "sqs_async"), "wall_ms")),
                    _status_cell(r),
                ]
                for r in summary["cli"]
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


def _first(rows: list[dict[str, Any]], client: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["client"] == client), None)


def write_outputs(summary: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """results.json and results.md (the chart is written by `benchmarks.chart`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "results.json", "markdown": out_dir / "results.md"}
    paths["json"].write_text(json.dumps(summary, indent=1, sort_keys=False) + "\n")
    paths["markdown"].write_text(markdown(summary))
    return paths
