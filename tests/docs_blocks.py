"""Runs the fenced ```python blocks of ``docs/*.md`` as tests; ``docs/conftest.py`` loads it.

Why Sybil (https://sybil.readthedocs.io): it is maintained, it reads the Markdown that GitHub
and MkDocs render (so the page is the single source of its examples), it runs the blocks of
a page in order in one namespace (a later block may use what an earlier one defined), and its
HTML-comment directives are invisible on both renderings: ``<!-- skip: next -->`` before a
block that must not run (a fragment, a sketch), ``<!-- invisible-code-block: python ... -->``
for hidden checks. pytest-markdown-docs was the alternative; it runs each block on its own
(no shared namespace) and marks skips in the fence's info string, which GitHub shows.

How a block runs (docs/testing.md, "How this documentation is tested"):

- as a script does: ``__name__`` is ``"__main__"``, so ``if __name__ == "__main__":
  asyncio.run(...)`` runs, and an example that talks to SQS starts its own local server with
  ``sqs_async.local.local_sqs()``, exactly as it does when a reader runs it;
- ``<!-- skip: next -->`` skips the python block right after it (and is ignored before a
  block of another language, which never runs anyway);
- a block may also ``await`` at top level (as in ``python -m asyncio``); the blocks of a page
  share one event loop for that, closed after the page;
- a block that starts a server (its code names ``local_sqs``, ``LocalSQSServer`` or the
  helpers below) is marked ``integration``;
- ``run_previous_block_with_pytest(passed=N)``, for an invisible block: saves the page's
  previous block as a test file and runs pytest on it (for pages that show a test file).
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import pytest
from sybil import Document, Example, Region, Sybil
from sybil.integration.pytest import SybilItem
from sybil.parsers.markdown import ClearNamespaceParser, CodeBlockParser, SkipParser

__all__ = [
    "DOCS",
    "SERVER_NAMES",
    "isolated_aws_environment",
    "pytest_collect_file",
    "pytest_collection_modifyitems",
]

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SERVER_NAMES = re.compile(r"\b(local_sqs|LocalSQSServer|run_previous_block_with_pytest)\b")
"""A block whose code names one of these talks to a local SQS server: ``integration``."""

_RUNNER = "__docs_event_loop__"
_CURRENT = "__docs_current_block__"


def _load_tests_conftest() -> Any:
    """tests/conftest.py as a module of another name (two modules named ``conftest`` clash)."""
    spec = importlib.util.spec_from_file_location(
        "sqs_async_tests_conftest", ROOT / "tests" / "conftest.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


isolated_aws_environment = _load_tests_conftest().isolated_aws_environment
"""The suite's own fixture (no AWS_* settings of the developer's), for the pages' blocks too."""


def _compile(example: Example) -> CodeType:
    # Line numbers in tracebacks are the page's: pad the source down to where the block starts.
    source = "\n" * (example.line + example.parsed.line_offset) + str(example.parsed)
    code: CodeType = compile(
        source, example.path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    return code


def evaluate_block(example: Example) -> None:
    """Run one block in its page's namespace; a block with top-level ``await`` runs on the
    page's event loop."""
    __tracebackhide__ = True
    namespace = example.namespace
    namespace[_CURRENT] = example
    code = _compile(example)
    if code.co_flags & inspect.CO_COROUTINE:
        runner = namespace.get(_RUNNER)
        if runner is None:
            runner = namespace[_RUNNER] = asyncio.Runner()
        runner.run(eval(code, namespace))
    else:
        exec(code, namespace)
    namespace.pop("__builtins__", None)


_PYTHON_NEXT = re.compile(r"[^\n]*?-->\s*(```python\b|<!-- invisible-code-block: python\b)")
"""From where Sybil's skip directive ends (before its ``-->``) to the block it skips."""


class _SkipParser(SkipParser):
    """Sybil's ``<!-- skip: next -->``, applied only where a python block follows: before a
    ``yaml`` or ``console`` block (which never runs) Sybil would keep it pending and skip the
    next python block further down, silently."""

    def __call__(self, document: Document) -> Iterator[Region]:
        for region in super().__call__(document):
            action = region.parsed[0]
            if action == "next" and not _PYTHON_NEXT.match(document.text, region.end):
                continue
            yield region


def _run_previous_block_with_pytest(namespace: dict[str, Any]) -> Callable[..., str]:
    def run_previous_block_with_pytest(*, passed: int) -> str:
        """Run the page's previous block as a pytest file (in a subprocess, with the
        ``sqs_async`` plugin starting its own server); check that ``passed`` tests passed."""
        # The block as written on the page, whether or not it ran in this session (with
        # -m integration it is deselected: it starts no server itself).
        current: Example = namespace[_CURRENT]
        source = [
            str(block.parsed)
            for block in current.document.examples()
            if block.region.evaluator is evaluate_block and block.start < current.start
        ][-1]
        with tempfile.TemporaryDirectory() as tmp:
            test_file = Path(tmp) / "test_docs_block.py"
            test_file.write_text(source, encoding="utf-8")
            result = subprocess.run(
                [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider"],
                capture_output=True,
                text=True,
                timeout=110,
                cwd=tmp,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
                check=False,
            )
        report = result.stdout + result.stderr
        assert result.returncode == 0, report
        assert f"{passed} passed" in report, report
        return report

    return run_previous_block_with_pytest


def _setup(namespace: dict[str, Any]) -> None:
    namespace["__name__"] = "__main__"
    namespace["run_previous_block_with_pytest"] = _run_previous_block_with_pytest(namespace)


def _teardown(namespace: dict[str, Any]) -> None:
    runner = namespace.pop(_RUNNER, None)
    if runner is not None:
        runner.close()
    namespace.clear()


SYBIL = Sybil(
    parsers=[
        CodeBlockParser(language="python", evaluator=evaluate_block),
        _SkipParser(),
        ClearNamespaceParser(),
    ],
    path=str(DOCS),
    patterns=["*.md"],
    setup=_setup,
    teardown=_teardown,
    fixtures=["isolated_aws_environment"],
)

pytest_collect_file = SYBIL.pytest()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the blocks that start a local SQS server ``integration``."""
    for item in items:
        if isinstance(item, SybilItem) and SERVER_NAMES.search(str(item.example.parsed)):
            item.add_marker(pytest.mark.integration)
