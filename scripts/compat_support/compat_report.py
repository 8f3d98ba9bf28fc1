"""A pytest plugin for ``scripts/compat``: writes each outcome of the run to a JSON file.

Loaded with ``-p compat_report`` (this directory on ``PYTHONPATH``); the file is named by the
environment variable ``SQS_ASYNC_COMPAT_REPORT``. The categories are pytest's own (those of its
terminal summary): passed, failed, error, skipped, xfailed, xpassed. Each entry has the test id
and, for anything but a pass, the first line of the reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPORT_ENV = "SQS_ASYNC_COMPAT_REPORT"
CATEGORIES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def _reason(report: Any) -> str:
    wasxfail = getattr(report, "wasxfail", "")
    if wasxfail:
        return str(wasxfail).removeprefix("reason: ")
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (file, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    text = str(getattr(crash, "message", "") or getattr(report, "longreprtext", "") or "")
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    target = os.environ.get(REPORT_ENV)
    if not target:
        return
    out: dict[str, list[dict[str, str]]] = {}
    for category in CATEGORIES:
        entries = []
        for report in terminalreporter.stats.get(category, []):
            nodeid = getattr(report, "nodeid", "")
            if not nodeid:
                continue
            entry = {"test": nodeid, "when": str(getattr(report, "when", ""))}
            if category != "passed":
                entry["reason"] = _reason(report)
            entries.append(entry)
        out[category] = entries
    Path(target).write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
