"""The PNG chart, drawn with matplotlib (the ``bench`` extra): the headline panel (sqs_async's
client CPU per message as a multiple of the raw-socket floor's, with the targets and the
signed-socket floor's own multiple: the least any correct client can reach), then client CPU per
message per scenario and client, one panel per event loop, then start-up and consumer memory
panels.

Layer: reads the summary from `benchmarks.report`. Without matplotlib no chart is drawn (the
markdown and JSON hold every number).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.scenarios import LOAD_SCENARIOS

SHORT = {
    "send": "send",
    "send_batch": "send batch",
    "receive_delete": "recv+del",
    "consume": "consume",
    "batch_writer": "batch writer",
}
COLORS = {
    "sqs_async": "#1f77b4",
    "aiobotocore": "#ff7f0e",
    "boto3": "#2ca02c",
    "aiosqs": "#9467bd",
    "raw-aiohttp": "#7f7f7f",
    "raw-socket": "#17becf",
    "raw-signed-socket": "#bcbd22",
}
# The bound on sqs_async's CPU per message as a multiple of the socket floor's.
TARGET_VS_SOCKET = {"send": 1.5, "send_batch": 2.0, "receive_delete": 1.5}


def panels(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """What to draw, independent of the renderer: titled groups of (label, median, min, max)."""
    clients: list[str] = summary["meta"]["clients"]
    out = []
    for loop in summary["meta"]["loops"]:
        groups = []
        for scenario in LOAD_SCENARIOS:
            bars = []
            for client in clients:
                row = _find(summary["load"], scenario, client, loop)
                bars.append((client, *_values(row, "cpu_us_per_msg")))
            groups.append((SHORT[scenario], bars))
        out.append(
            {
                "title": f"client CPU µs per message, log scale ({loop}; boto3: threads)",
                "groups": groups,
                "log": True,
            }
        )
    startup_groups = []
    for metric, label in (
        ("import_ms", "import ms"),
        ("import_ready_ms", "import + entry point ms"),
        ("first_response_cold_ms", "first response ms"),
    ):
        bars = [
            (c, *_values(_find(summary["startup"], "startup", c, None), metric)) for c in clients
        ]
        startup_groups.append((label, bars))
    out.append({"title": "start-up, ms", "groups": startup_groups, "log": False})
    rss_bars = [
        (c, *_values(_find(summary["rss"], "rss", c, None), "rss_growth_mib")) for c in clients
    ]
    out.append(
        {"title": "consumer RSS growth, MiB", "groups": [("RSS growth", rss_bars)], "log": False}
    )
    return out


def _find(
    rows: list[dict[str, Any]], scenario: str, client: str, loop: str | None
) -> dict[str, Any] | None:
    for row in rows:
        same = row["scenario"] == scenario and row["client"] == client
        if same and (loop is None or row["loop"] in (loop, "threads")):
            return row
    return None


def _values(row: dict[str, Any] | None, metric: str) -> tuple[float, float, float]:
    if row is None or row["status"] != "ok" or metric not in row["metrics"]:
        return (0.0, 0.0, 0.0)  # drawn as "n/a"
    value = row["metrics"][metric]
    return (value["median"], value["min"], value["max"])


def write_chart(summary: dict[str, Any], path: Path) -> str | None:
    """Write the PNG; returns None (and writes nothing) when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    _matplotlib(summary, path)
    return "matplotlib"


def _headline(summary: dict[str, Any], ax: Any) -> None:
    """sqs_async's CPU per message over the socket floor's, per scenario and loop."""
    loops = summary["meta"]["loops"]
    scenarios = [s for s in LOAD_SCENARIOS if s != "batch_writer"]
    width = 0.8 / max(len(loops), 1)
    labelled = False
    for index, loop in enumerate(loops):
        values = []
        for scenario in scenarios:
            row = _find(summary["load"], scenario, "sqs_async", loop)
            values.append((row or {}).get("ratios", {}).get("vs_socket") or 0.0)
        xs = [i + (index - (len(loops) - 1) / 2) * width for i in range(len(scenarios))]
        bars = ax.bar(
            xs,
            values,
            width,
            label=f"sqs_async, {loop}",
            color=COLORS["sqs_async"],
            alpha=1.0 - 0.45 * index,
            hatch="//" if index else None,
        )
        ax.bar_label(bars, fmt="%.2fx", fontsize=7)
        # The signed floor's own ratio over each bar: the mandatory work of a correct client.
        for x, scenario in zip(xs, scenarios, strict=True):
            floor = _find(summary["load"], scenario, "raw-signed-socket", loop)
            ratio = (floor or {}).get("ratios", {}).get("vs_socket")
            if ratio:
                ax.hlines(
                    ratio,
                    x - width / 2,
                    x + width / 2,
                    colors=COLORS["raw-signed-socket"],
                    linestyles="dotted",
                    linewidth=2,
                    label=None if labelled else "signed floor (serialize, sign, parse, MD5)",
                )
                labelled = True
    for i, scenario in enumerate(scenarios):
        bound = TARGET_VS_SOCKET.get(scenario)
        if bound is not None:
            ax.hlines(bound, i - 0.45, i + 0.45, colors="red", linestyles="dashed", linewidth=1)
    ax.axhline(1.0, color=COLORS["raw-socket"], linewidth=1)
    ax.set_xticks(range(len(scenarios)), [SHORT[s] for s in scenarios])
    ax.set_title(
        "sqs_async client CPU per message ÷ the raw-socket floor's (1.0 = the floor; "
        "dashed red: target)\ndotted: the signed-socket floor's own ratio, the least any "
        "correct client can reach",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", alpha=0.3)


def _matplotlib(summary: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    specs = panels(summary)
    clients = summary["meta"]["clients"]
    rows = len(specs) + 1
    fig, axes = plt.subplots(rows, 1, figsize=(11, 3.6 * rows), squeeze=False)
    _headline(summary, axes[0, 0])
    width = 0.8 / len(clients)
    for ax, spec in zip(axes[1:, 0], specs, strict=True):
        for index, client in enumerate(clients):
            xs, heights, lows, highs = [], [], [], []
            for group_index, (_, bars) in enumerate(spec["groups"]):
                _, median, low, high = bars[index]
                xs.append(group_index + (index - (len(clients) - 1) / 2) * width)
                heights.append(median)
                lows.append(median - low)
                highs.append(high - median)
            drawn = ax.bar(
                xs,
                heights,
                width,
                label=client,
                color=COLORS.get(client),
                yerr=[lows, highs],
                capsize=2,
            )
            for rect, height in zip(drawn, heights, strict=True):
                if not height:
                    ax.annotate(
                        "n/a",
                        (rect.get_x() + rect.get_width() / 2, 0),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        rotation=90,
                        xytext=(0, 2),
                        textcoords="offset points",
                        xycoords=("data", "axes fraction"),
                    )
        ax.set_xticks(range(len(spec["groups"])), [label for label, _ in spec["groups"]])
        ax.set_title(spec["title"], fontsize=10)
        if spec["log"]:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        ncol=len(clients),
        fontsize=9,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.975),
    )
    mode = summary["meta"]["mode"]["name"]
    fig.suptitle(f"sqs_async benchmarks ({mode} mode): lower is better", fontsize=12, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.955))
    fig.savefig(path, dpi=90)
    plt.close(fig)
