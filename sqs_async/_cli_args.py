"""The ``sqs-async`` command line's arguments: every command's parser.

Layer: below the command line (``_cli``), which runs what is parsed here; argparse only.
Global options and environment variables follow the AWS CLI (``--endpoint-url``/
``AWS_ENDPOINT_URL_SQS``, ``--region``/``AWS_REGION``, ``--profile``/``AWS_PROFILE``), and
as there they go before or after the command (:func:`global_options` is the parent parser of
every command).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["PROG", "global_options", "parser"]

PROG = "sqs-async"


def _attribute(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


_GLOBAL_DEFAULTS: dict[str, Any] = {
    "endpoint_url": None,
    "region": None,
    "profile": None,
    "output": "text",
}


def global_options() -> argparse.ArgumentParser:
    """The options every command takes, before or after the command (as in the AWS CLI).

    Give it as a parent to each command's parser: ``sub.add_parser(..., parents=[
    global_options()])``. Its defaults are ``SUPPRESS``, so an option given before the
    command is not overwritten by a command that does not repeat it; the real defaults are
    set once, on the top-level parser. Given both before and after, the one after wins.
    """
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("global options")
    group.add_argument(
        "--endpoint-url",
        default=argparse.SUPPRESS,
        help="SQS endpoint (env AWS_ENDPOINT_URL_SQS)",
    )
    group.add_argument(
        "--region",
        default=argparse.SUPPRESS,
        help="AWS region (env AWS_DEFAULT_REGION, profile, then AWS_REGION)",
    )
    group.add_argument(
        "--profile", default=argparse.SUPPRESS, help="named AWS profile (env AWS_PROFILE)"
    )
    group.add_argument(
        "--output",
        choices=("text", "json"),
        default=argparse.SUPPRESS,
        help="text (default) or json",
    )
    return options


def _skip(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def parser() -> argparse.ArgumentParser:
    """The ``sqs-async`` parser: every command, each with the global options."""
    top = argparse.ArgumentParser(
        prog=PROG, description="Amazon SQS from the shell.", parents=[global_options()]
    )
    top.set_defaults(**_GLOBAL_DEFAULTS)
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    g = [global_options()]  # every command takes the global options too

    p = sub.add_parser("queues", help="list queues", parents=g)
    p.add_argument("--prefix", default="")
    p = sub.add_parser("create", help="create a queue", parents=g)
    p.add_argument("name")
    p.add_argument("--visibility-timeout", type=int)
    p.add_argument("--fifo", action="store_true", help="FIFO queue (adds .fifo to the name)")
    p.add_argument("--attribute", type=_attribute, action="append", default=[], metavar="K=V")
    p = sub.add_parser("delete", help="delete a queue (refuses a non-empty one)", parents=g)
    p.add_argument("name")
    p.add_argument("--force", action="store_true", help="delete even if it holds messages")
    p = sub.add_parser("send", help="send a message (BODY, or - for stdin)", parents=g)
    p.add_argument("name")
    p.add_argument("body", nargs="?", default="-")
    p.add_argument("--lines", action="store_true", help="send each input line as a message")
    p.add_argument("--attribute", type=_attribute, action="append", default=[], metavar="K=V")
    p.add_argument("--group-id")
    p.add_argument("--deduplication-id")
    p.add_argument("--delay", type=int)
    p = sub.add_parser("receive", help="receive messages", parents=g)
    p.add_argument("name")
    p.add_argument("-n", "--number", type=int, default=1)
    p.add_argument("--wait", type=int, default=0, help="long-poll seconds (0-20)")
    p.add_argument("--visibility-timeout", type=int)
    p.add_argument("--delete", action="store_true", help="delete what was received")
    p = sub.add_parser("tail", help="follow a queue, like tail -f", parents=g)
    p.add_argument("name")
    p.add_argument("--delete", action="store_true", help="delete each message once printed")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--max-messages", type=int, help="exit after this many messages")
    p.add_argument("--visibility-timeout", type=int, default=30)
    p.add_argument("--wait", type=int, default=20)
    p = sub.add_parser("count", help="approximate number of messages", parents=g)
    p.add_argument("name")
    p.add_argument("--all", action="store_true", help="include in-flight and delayed")
    for command, text in (("purge", "PurgeQueue"), ("clear", "delete every message, counting")):
        p = sub.add_parser(command, help=text, parents=g)
        p.add_argument("name")
    for name, text in (
        ("dump", "write every message to FILE (JSON Lines)"),
        ("load", "send the messages of FILE (JSON Lines)"),
    ):
        p = sub.add_parser(name, help=text, parents=g)
        p.add_argument("name")
        p.add_argument("file")
        p.add_argument("--raw", action="store_true", help="bodies only, --sep between them")
        p.add_argument("--sep", help="separator of --raw bodies (default newline; implies --raw)")
    p.add_argument("--group-id", help="MessageGroupId of messages without one (FIFO)")
    p.add_argument(
        "--skip", type=_skip, default=0, metavar="N", help="skip the first N entries of FILE"
    )
    p = sub.add_parser("move", help="drain SRC into DST, deleting only what was written", parents=g)
    p.add_argument("source")
    p.add_argument("destination")
    p.add_argument("--group-id", help="MessageGroupId of messages without one (FIFO)")
    sub.add_parser("demo", help="run the tutorial against an embedded local SQS server", parents=g)
    sub.add_parser(
        "bench",
        help="run the benchmarks (from a source checkout); options go to python -m benchmarks",
        add_help=False,
    )
    _add_worker_command(sub, g)
    return top


def _add_worker_command(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """``sqs-async worker MODULE:FUNCTION --queue NAME``: parsed here, run by ``_worker``."""
    p = sub.add_parser(
        "worker",
        parents=parents,
        help="run a handler on every message of a queue (processes, signals, metrics)",
        description="Consume a queue with MODULE:FUNCTION (async or plain, imported with the "
        "current directory on sys.path). SIGTERM/SIGINT drain and exit 0; a second one "
        "stops at once.",
    )
    p.add_argument("handler", metavar="MODULE:FUNCTION")
    p.add_argument("--queue", required=True, help="queue name or URL")
    p.add_argument("--concurrency", type=int, default=10, help="handlers at once per process")
    p.add_argument("--processes", default="1", help="consuming processes, or auto: one per core")
    p.add_argument("--visibility-timeout", type=int, help="lease seconds (default: the queue's)")
    p.add_argument("--max-receives", type=int, help="leave a message received more often to DLQ")
    p.add_argument("--drain-timeout", type=float, default=30.0, help="seconds to finish on stop")
    p.add_argument("--batch", action="store_true", help="the handler takes a list of messages")
    p.add_argument("--max-batch", type=int, default=10, help="--batch: messages per call")
    p.add_argument("--max-wait", type=float, help="--batch: seconds to wait to fill a batch")
    p.add_argument("--metrics-port", type=int, help="serve /metrics and /healthz on this port")
    p.add_argument("--metrics-host", default="127.0.0.1", help="address for --metrics-port")
    p.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    p.add_argument("--log-format", choices=("text", "json"), default="text")
