"""The docs runner (tests/docs_blocks.py): what a page's blocks may rely on, on sample pages."""

from __future__ import annotations

import re
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from docs_blocks import DOCS, SERVER_NAMES, SYBIL, evaluate_block
from sybil import Document

ROOT = DOCS.parent
FENCE = re.compile(r"^[ \t]*```[ \t]*(\S*)", re.MULTILINE)
INVISIBLE = re.compile(r"^[ \t]*<!-- invisible-code-block: python$", re.MULTILINE)


def run_page(tmp_path: Path, text: str) -> dict[str, object]:
    """Run every block of a page as the suite does; return the namespace before teardown."""
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    document = SYBIL.parse(page)
    namespace = document.namespace
    assert SYBIL.setup is not None
    assert SYBIL.teardown is not None
    SYBIL.setup(namespace)
    try:
        for example in document.examples():
            example.evaluate()
        return dict(namespace)
    finally:
        SYBIL.teardown(namespace)


def python_blocks(document: Document) -> list[str]:
    return [
        str(example.parsed)
        for example in document.examples()
        if example.region.evaluator is evaluate_block
    ]


def test_blocks_share_a_namespace_and_run_as_main(tmp_path: Path) -> None:
    namespace = run_page(
        tmp_path,
        "```python\nx = 1\nname = __name__\n```\n\ntext\n\n```python\ny = x + 1\n```\n",
    )
    assert namespace["y"] == 2
    assert namespace["name"] == "__main__"


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(
            "<!-- skip: next -->\n```python\nraise AssertionError('ran')\n```\n\n"
            "```python\nafter = True\n```\n",
            id="skips-exactly-the-next-block",
        ),
        # Before another language it is ignored: it must not stay pending and skip a later
        # python block, nor trip over the next skip.
        pytest.param(
            "<!-- skip: next -->\n```yaml\na: 1\n```\n\n<!-- skip: next -->\n```console\n$ x\n"
            "```\n\n```python\nafter = True\n```\n\n  <!-- skip: next -->\n  ```python\n"
            "  1 / 0\n  ```\n",
            id="ignored-before-another-language",
        ),
    ],
)
def test_skip_next(tmp_path: Path, page: str) -> None:
    assert run_page(tmp_path, page)["after"] is True


def test_invisible_code_block_runs(tmp_path: Path) -> None:
    namespace = run_page(tmp_path, "<!-- invisible-code-block: python\nhidden = 3\n-->\n")
    assert namespace["hidden"] == 3


def test_top_level_await_shares_one_loop_per_page_closed_after_it(tmp_path: Path) -> None:
    namespace = run_page(
        tmp_path,
        "```python\nimport asyncio\nawait asyncio.sleep(0)\nloop = asyncio.get_running_loop()\n"
        "```\n\n```python\nawait asyncio.sleep(0)\n"
        "same = asyncio.get_running_loop() is loop\n```\n",
    )
    loop = namespace["loop"]
    assert namespace["same"] is True
    assert loop.is_closed()  # type: ignore[attr-defined]


def test_a_failing_block_reports_the_line_of_the_page(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError) as raised:
        run_page(tmp_path, "# title\n\n```python\nx = 1\n1 / 0\n```\n")
    frames = traceback.extract_tb(raised.value.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno) == (str(tmp_path / "page.md"), 5)


def test_every_python_fence_of_the_docs_is_a_block_the_runner_sees() -> None:
    """A fence labelled ``py`` or ``Python`` would silently not run: only ``python`` counts."""
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        labels = [label for label in FENCE.findall(text) if label.lower().startswith("py")]
        assert set(labels) <= {"python"}, page.name
        invisible = len(INVISIBLE.findall(text))
        assert len(python_blocks(SYBIL.parse(page))) == labels.count("python") + invisible


def test_blocks_that_start_a_server_are_the_integration_ones() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "docs", "--co", "-q", "-m", "integration"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=110,
        check=False,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    marked = {line for line in listed.stdout.splitlines() if line.startswith("docs/")}
    expected = {
        f"docs/{page.name}::line:{example.line},column:{example.column}"
        for page in sorted(DOCS.glob("*.md"))
        for example in SYBIL.parse(page).examples()
        if SERVER_NAMES.search(str(example.parsed))
    }
    assert expected, "the pages have examples that talk to a server"
    assert marked == expected
