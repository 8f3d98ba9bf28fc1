"""Every docs/examples/*.py runs against the local SQS server, as the tutorial shows it.

Each example is an ``async def main(endpoint_url)`` that asserts its own outcome, so a broken
example (or a library change that breaks the tutorial) fails here.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from compat import (
    FAUXQS_ONE_PER_GROUP,
    LOCAL_COUNTS_IN_FLIGHT,
    LOCAL_FRESH_MESSAGE_DELAYED,
    LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES,
    known_divergent,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "docs" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("[0-9][0-9]_*.py"))
# Examples a compatibility server gets wrong (scripts/compat; docs/compatibility.md).
EXAMPLE_DIVERGENCES = {
    "06_write_batch": [known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)],
    "08_read": [known_divergent("local-aws-sqs", LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES)],
    "11_count": [known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)],
    "14_dump": [known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)],
    "23_write_batch": [known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)],
    "24_batch_writer": [
        known_divergent("fauxqs", FAUXQS_ONE_PER_GROUP),
        known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED),
    ],
    "28_from_boto": [known_divergent("local-aws-sqs", LOCAL_FRESH_MESSAGE_DELAYED)],
    "30_cli": [known_divergent("local-aws-sqs", LOCAL_COUNTS_IN_FLIGHT)],
}
DOCS_DIR = ROOT / "docs"
TUTORIAL = DOCS_DIR / "tutorial.md"
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)


def load_example(path: Path) -> ModuleType:
    """Import an example by path (its file name is not a valid module name)."""
    spec = importlib.util.spec_from_file_location(f"sqs_async_example_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 14


def _included(page: Path) -> list[str]:
    return [p for p in SNIPPET.findall(page.read_text(encoding="utf-8")) if p.endswith(".py")]


def test_docs_include_every_example_once() -> None:
    """Each example is shown on exactly one page, so none goes stale unseen."""
    included = [path for page in sorted(DOCS_DIR.glob("*.md")) for path in _included(page)]
    assert sorted(included) == [f"docs/examples/{p.name}" for p in EXAMPLES]


@pytest.mark.parametrize("page", sorted(DOCS_DIR.glob("*.md")), ids=lambda p: p.stem)
def test_pages_include_examples_in_order(page: Path) -> None:
    """A page walks through its examples in file order (the tutorial's steps: 01, 02...)."""
    included = _included(page)
    assert included == sorted(included)


def test_tutorial_includes_its_steps() -> None:
    assert len(_included(TUTORIAL)) >= 14


@pytest.mark.integration
@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=EXAMPLE_DIVERGENCES.get(p.stem, ())) for p in EXAMPLES],
    ids=lambda p: p.stem,
)
async def test_example(path: Path, sqs_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = load_example(path)
    await module.main(sqs_endpoint)
    assert capsys.readouterr().out.strip(), "an example prints what it does"


@pytest.mark.integration
def test_example_runs_standalone() -> None:
    """``python docs/examples/NN_name.py`` starts its own local server (``local_sqs()``)."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES[0])],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "both connections closed" in result.stdout
