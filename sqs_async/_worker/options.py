"""What the runner was asked to do, and finding the user's handler.

Layer: the runner's room (``sqs_async._worker``), above the consumer; no I/O here except
importing the handler's module.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["StartupError", "WorkerOptions", "load_handler"]


class StartupError(Exception):
    """The worker cannot start (bad handler, missing queue, refused credentials): one line,
    a non-zero exit, no restart loop."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """The ``sqs-async worker`` options, as the CLI parsed them (see ``docs/workers.md``)."""

    handler: str
    queue: str
    concurrency: int = 10
    processes: int = 1
    visibility_timeout: int | None = None
    max_receives: int | None = None
    drain_timeout: float = 30.0
    batch: bool = False
    max_batch: int = 10
    max_wait: float | None = None
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_format: str = "text"
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None

    def to_json(self) -> str:
        """The options for a child process's command line."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerOptions:
        """The options a supervisor handed to this child process."""
        data: dict[str, Any] = json.loads(text)
        return cls(**data)

    @property
    def queue_name(self) -> str:
        """The queue's name (``--queue`` may be a name or a URL), for metric labels."""
        return self.queue.rstrip("/").rpartition("/")[2]


def check_handler_spec(spec: str) -> str:
    """Check the ``MODULE:FUNCTION`` form (before anything starts); return it."""
    module, sep, attribute = spec.partition(":")
    if not sep or not module or not attribute:
        raise StartupError(f"the handler must be given as MODULE:FUNCTION, got {spec!r}")
    return spec


def load_handler(spec: str) -> Any:
    """Import ``MODULE:FUNCTION`` the way uvicorn and gunicorn import apps.

    The current directory goes first on ``sys.path``; ``FUNCTION`` may be dotted
    (``module:obj.method``).

    Raises:
        StartupError: The module cannot be imported (or raised while importing), the
            attribute is missing, or it is not callable; the message is one line.
    """
    module_name, _, attribute = check_handler_spec(spec).partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise StartupError(f"cannot import {module_name!r}: {exc}") from exc
        raise StartupError(f"error while importing {module_name!r}: {_one_line(exc)}") from exc
    except Exception as exc:  # whatever the user's module raises, reported in one line
        raise StartupError(f"error while importing {module_name!r}: {_one_line(exc)}") from exc
    handler: Any = module
    for part in attribute.split("."):
        try:
            handler = getattr(handler, part)
        except AttributeError:
            raise StartupError(f"{module_name!r} has no attribute {attribute!r}") from None
    if not callable(handler):
        raise StartupError(f"{spec!r} is not callable (it is a {type(handler).__name__})")
    return handler


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
