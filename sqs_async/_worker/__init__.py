"""The ``sqs-async worker`` runner: processes, signals, metrics and health around a consumer.

Layer: above the consumer, beside the CLI (which parses the arguments and hands over to
:func:`main`). Its rooms: ``options`` (what was asked; the handler import), ``supervisor``
(the parent process), ``child`` (each consuming process), ``metrics`` and ``endpoints``
(``/metrics`` and ``/healthz``), ``logs``. Nothing here is imported by ``import
sqs_async``; prometheus-client only with ``--metrics-port``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys

from .logs import configure_logging
from .options import StartupError, WorkerOptions, check_handler_spec
from .supervisor import Supervisor

__all__ = ["StartupError", "WorkerOptions", "main", "options_from_args"]

PROG = "sqs-async worker"


def options_from_args(args: argparse.Namespace) -> WorkerOptions:
    """The options from the CLI's parsed arguments, checked before anything starts.

    Raises:
        StartupError: An option is unusable (the message is one line).
    """
    processes = str(args.processes)
    if processes == "auto":  # the cores this process may run on (cpusets included)
        count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
        count = count or os.cpu_count() or 1
    elif processes.isdigit():
        count = int(processes)
    else:
        raise StartupError(f"--processes is {processes!r}; use a number or auto")
    if count < 1:
        raise StartupError(f"--processes is {count}; it must be at least 1 (or auto)")
    if args.concurrency < 1:
        raise StartupError(f"--concurrency is {args.concurrency}; it must be at least 1")
    if args.batch and args.max_receives is not None:
        raise StartupError("--max-receives does not apply to --batch handlers")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise StartupError(f"--metrics-port is {args.metrics_port}; use 0 to 65535")
    if args.metrics_port is not None and importlib.util.find_spec("prometheus_client") is None:
        raise StartupError(
            "--metrics-port needs prometheus-client: pip install 'sqs_async[metrics]'"
        )
    return WorkerOptions(
        handler=check_handler_spec(args.handler),
        queue=args.queue,
        concurrency=args.concurrency,
        processes=count,
        visibility_timeout=args.visibility_timeout,
        max_receives=args.max_receives,
        drain_timeout=args.drain_timeout,
        batch=args.batch,
        max_batch=args.max_batch,
        max_wait=args.max_wait,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        log_level=args.log_level,
        log_format=args.log_format,
        endpoint_url=getattr(args, "endpoint_url", None),
        region=getattr(args, "region", None),
        profile=getattr(args, "profile", None),
    )


def main(args: argparse.Namespace) -> int:
    """Run the worker the CLI described; return the exit code (errors as one line)."""
    try:
        options = options_from_args(args)
        configure_logging(options.log_level, options.log_format)
        supervisor = Supervisor(options)
        code = asyncio.run(supervisor.run())
    except StartupError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 1
    if supervisor.failure is not None:
        sys.stderr.write(f"{PROG}: error: {supervisor.failure}\n")
    return code
