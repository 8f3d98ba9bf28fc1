"""Logging for the runner's processes: ``--log-level`` and ``--log-format text|json``.

Layer: the runner's room. Every process (supervisor and children) logs to stderr; JSON
lines carry the process id, so the lines of several children can be told apart.
"""

from __future__ import annotations

import json
import logging
import sys
import time

__all__ = ["JSONFormatter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, pid (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    """Send every log record of this process to stderr, in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
