"""``python -m benchmarks``: run every scenario for every client, write JSON, markdown and PNG.

Modes: ``--quick`` (under a minute on 2 cores), ``--smoke`` (tiny counts, for the test suite),
default full (about 10-15 minutes). See benchmarks/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from benchmarks.chart import write_chart
from benchmarks.clients import CLIENTS
from benchmarks.harness import MODES, Harness
from benchmarks.report import markdown, summarize, write_outputs
from benchmarks.scenarios import LOAD_SCENARIOS

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer repetitions and smaller windows")
    size.add_argument("--smoke", action="store_true", help="tiny counts: checks the machinery only")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--clients",
        default=",".join(CLIENTS),
        help=f"comma-separated subset of {','.join(CLIENTS)}",
    )
    parser.add_argument(
        "--loops", default="asyncio,uvloop", help="comma-separated: asyncio, uvloop"
    )
    everything = (*LOAD_SCENARIOS, "startup", "cli", "rss")
    parser.add_argument(
        "--scenarios",
        default=",".join(everything),
        help=f"comma-separated subset of {','.join(everything)} (default: all)",
    )
    parser.add_argument(
        "--aws-cli",
        default=shutil.which("aws"),
        help="the AWS CLI for the 'cli' scenario (default: 'aws' on PATH; none: not measured)",
    )
    args = parser.parse_args(argv)

    clients = tuple(c for c in args.clients.split(",") if c)
    unknown = [c for c in clients if c not in CLIENTS]
    loops = tuple(loop for loop in args.loops.split(",") if loop)
    scenarios = tuple(s for s in args.scenarios.split(",") if s)
    if unknown or not clients or not set(loops) <= {"asyncio", "uvloop"} or not loops:
        parser.error(f"unknown clients {unknown} or loops {loops}")
    if not scenarios or not set(scenarios) <= set(everything):
        parser.error(f"unknown scenarios in {scenarios}")
    mode = MODES["smoke" if args.smoke else "quick" if args.quick else "full"]

    harness = Harness(
        mode, args.out, clients=clients, loops=loops, scenarios=scenarios, aws_cli=args.aws_cli
    )
    raw = harness.run()
    summary = summarize(raw)
    paths = write_outputs(summary, args.out)
    png = args.out / "results.png"
    if write_chart(summary, png):
        paths["png"] = png
    else:
        print("png: not drawn (matplotlib, of the 'bench' extra, is missing)", file=sys.stderr)
    print(markdown(summary))
    for kind, path in paths.items():
        print(f"{kind}: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
