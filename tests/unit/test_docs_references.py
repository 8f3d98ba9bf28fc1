"""The docs and docstrings name only what exists: every documented name, method, attribute and
keyword parameter is checked against the code, so one that is renamed or removed fails here.

What is checked, in ``docs/*.md`` and README.md:

- every dotted ``sqs_async.x.y`` (prose, code blocks and the API page's ``:::`` directives)
  resolves;
- in inline code and in code blocks (skipped fragments included), ``receiver.name(...)`` and
  ``receiver.name`` for the receivers the docs use for our objects (``queue``, ``conn``,
  ``message``...): the attribute exists on that class and each ``keyword=`` is a parameter;
- in inline code, a bare ``name(...)``: a public name of sqs_async or a method of one of
  its public classes (or a name the docs quote from elsewhere, listed in ``FOREIGN``), and
  each ``keyword=`` is a parameter of one of them;
- in inline code, a lone ``keyword=``: a parameter of some public callable.

Docstrings of the public API: no pointer into a private module, every ``:meth:``,
``:class:``, ``:func:``, ``:attr:`` and ``:exc:`` target resolves, and every parameter an
``Args:`` section documents exists. The errors page's tables agree with ``retriable`` and
``for_code()``, and the tests that compatibility.md names exist.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import sqs_async
import sqs_async.errors
import sqs_async.local

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
PUBLIC_MODULES: list[ModuleType] = [sqs_async, sqs_async.local, sqs_async.errors]
FIXTURES = importlib.import_module("sqs_async._pytest_plugin")
"""The pytest plugin's fixtures (``sqs_queue_name()``...) are public by their names."""

# The variable names the docs give our objects. (``client`` is left out: migrating.md uses
# it for aiobotocore's client and for SQSConnection side by side.)
RECEIVERS: dict[str, Any] = {
    "queue": sqs_async.Queue,
    "q": sqs_async.Queue,
    "fifo": sqs_async.Queue,
    "conn": sqs_async.SQSConnection,
    "connection": sqs_async.SQSConnection,
    "message": sqs_async.Message,
    "m": sqs_async.Message,
    "consumer": sqs_async.Consumer,
    "stream": sqs_async.MessageStream,
    "writer": sqs_async.BatchWriter,
    "results": sqs_async.BatchResults,
    "server": sqs_async.local.LocalSQSServer,
    "sqs_server": sqs_async.local.LocalSQSServer,
    "local": sqs_async.local,
    "sqs_async": sqs_async,
}

# Names the docs quote from other libraries or from boto 2 (what is not carried over), and
# Python's own; a name of ours that disappears is not in this list, and fails.
FOREIGN = frozenset(
    {
        # Python and pytest
        "max", "min", "repr", "str", "xfail",
        # the reader's own callables in the examples: an entry point, a handler's work, and
        # the middleware signature's parameters (consumers.md)
        "main", "work", "middleware", "call_next",
        # PromQL, in the metrics examples
        "rate", "histogram_quantile",
        # aiobotocore / boto 2 names that the migration guide compares with
        "AioConfig", "count_slow", "load_from_s3", "save_to_s3",
        # fauxqs's server API (compatibility.md)
        "buildApp", "createSqsServer", "listen",
        # the docs runner (tests/docs_blocks.py), named on testing.md
        "run_previous_block_with_pytest",
    }
)  # fmt: skip

SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
FENCE = re.compile(r"^([ \t]*)```[^\n]*\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
DOTTED = re.compile(r"\bsqs_async(?:\.[A-Za-z_]\w*)+")
CALL = re.compile(r"(?<![\w.])(?:([A-Za-z_]\w*)\.)?([A-Za-z_]\w*)\(")
ATTRIBUTE = re.compile(r"(?<![\w./])([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b(?![(/])")
LONE_KEYWORD = re.compile(r"^([a-z_]\w*)=")
PRIVATE_POINTER = re.compile(
    r"\bsee\b[^.]{0,60}\bsqs_async\._|:mod:`~?sqs_async\._|\bmodule doc", re.IGNORECASE
)
"""'see sqs_async._x', 'see the module docs': a reader of the API cannot follow that."""
ROLE = re.compile(r":(meth|class|func|attr|exc|mod):`~?\.?([^`]+)`")


def _only_our_column(text: str) -> str:
    """In a comparison table (a column headed ``sqs_async``: migrating.md), keep that column:
    the others quote boto 2 or aiobotocore."""
    lines, ours = [], None
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|"):
            ours = None
        elif ours is None and "sqs_async" in cells:
            ours = cells.index("sqs_async")
        elif ours is not None:
            line = cells[ours] if ours < len(cells) else ""
        lines.append(line)
    return "\n".join(lines)


def _split_prose_and_code(text: str) -> tuple[str, list[str]]:
    blocks = [match.group(2) for match in FENCE.finditer(text)]
    return _only_our_column(FENCE.sub("", text)), blocks


def _arguments(text: str, open_paren: int) -> str:
    """The argument text of the call whose ``(`` is at ``open_paren`` (to its ``)``)."""
    depth = 0
    for index in range(open_paren, len(text)):
        if text[index] in "([{":
            depth += 1
        elif text[index] in ")]}":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1 : index]
    return text[open_paren + 1 :]


def _keywords(arguments: str) -> list[str]:
    """``name=`` at the top level of an argument list (not ``==``, not nested calls)."""
    flat, depth = [], 0
    for char in arguments:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            flat.append(char)
            continue
        flat.append(" ")
    return re.findall(r"(?<![\w.*])([a-z_]\w*)\s*=(?!=)", "".join(flat))


def _calls(text: str) -> Iterator[tuple[str, str, list[str]]]:
    for match in CALL.finditer(text):
        receiver, name = match.group(1) or "", match.group(2)
        yield receiver, name, _keywords(_arguments(text, match.end() - 1))


def _public_classes() -> list[type]:
    return [
        obj
        for module in PUBLIC_MODULES
        for name in getattr(module, "__all__", dir(module))
        if not name.startswith("_") and inspect.isclass(obj := getattr(module, name))
    ]


def _has_attribute(owner: Any, name: str) -> bool:
    if hasattr(owner, name):
        return True
    if not inspect.isclass(owner):
        return False
    for cls in owner.__mro__:
        if name in getattr(cls, "__annotations__", {}) or name in getattr(cls, "__slots__", ()):
            return True
        try:
            source = inspect.getsource(cls)
        except (OSError, TypeError):
            continue
        if re.search(rf"\bself\.{re.escape(name)}\s*[:=]", source):
            return True
    return False


def _accepts(function: Callable[..., Any], keyword: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True  # a builtin without a signature: nothing to check
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return True
    return keyword in parameters


def _bare_candidates(name: str) -> list[Any]:
    found = [getattr(module, name) for module in PUBLIC_MODULES if hasattr(module, name)]
    if name in _optional_public_names():  # its signature cannot be read: any keyword
        found.append(lambda *args, **kwargs: None)
    if hasattr(FIXTURES, name):  # what a fixture gives takes keywords we cannot see
        found.append(lambda *args, **kwargs: None)
    found += [getattr(cls, name) for cls in _public_classes() if hasattr(cls, name)]
    return found


def _optional_public_names() -> set[str]:
    """Top-level names of public modules that need an extra not installed here."""
    names: set[str] = set()
    for path in Path(sqs_async.__file__).parent.glob("[!_]*.py"):
        module_name = f"sqs_async.{path.stem}"
        try:
            importlib.import_module(module_name)
        except ImportError:
            body = ast.parse(path.read_text(encoding="utf-8")).body
            names |= {
                node.name
                for node in body
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and not node.name.startswith("_")
            }
    return names


def _all_parameter_names() -> set[str]:
    names: set[str] = set()
    callables: list[Any] = []
    for module in PUBLIC_MODULES:
        callables += [getattr(module, n) for n in dir(module) if not n.startswith("_")]
    for cls in _public_classes():
        callables += [getattr(cls, n) for n in dir(cls) if not n.startswith("_")]
    for obj in callables:
        if callable(obj):
            try:
                names.update(inspect.signature(obj).parameters)
            except (TypeError, ValueError):
                continue
    return names


def _module_file(module_name: str) -> Path | None:
    """The source of ``sqs_async.x.y`` without importing it."""
    base = Path(sqs_async.__file__).parent.joinpath(*module_name.split(".")[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _defines(module_name: str, names: list[str]) -> bool:
    """Whether a module whose extra is not installed (``sqs_async.otel`` without
    OpenTelemetry) defines ``names[0]`` (and ``names[1]`` in that class), read from its source."""
    source = _module_file(module_name)
    if source is None:
        return False
    body = ast.parse(source.read_text(encoding="utf-8")).body
    for name in names:
        found = [
            node
            for node in body
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node.name == name
            )
            or (
                isinstance(node, (ast.Assign, ast.AnnAssign))
                and name in {t.id for t in ast.walk(node) if isinstance(t, ast.Name)}
            )
        ]
        if not found:
            return False
        body = found[0].body if isinstance(found[0], ast.ClassDef) else []
    return True


def _source_uses(literal: str) -> bool:
    """A dotted string the code itself uses (a span attribute key such as
    ``sqs_async.outcome``) is a name the code has, though not a Python one."""
    quoted = (f'"{literal}"', f"'{literal}'")
    return any(
        q in path.read_text(encoding="utf-8")
        for path in Path(sqs_async.__file__).parent.rglob("*.py")
        for q in quoted
    )


def _resolve_dotted(dotted: str) -> Any:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as exc:
            # A public module of an optional extra (sqs_async.otel without OpenTelemetry)
            # raises ImportError; what it defines is then read from its source.
            ours = isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("sqs_async")
            if not ours and _module_file(module_name) and _defines(module_name, parts[split:]):
                return None
            continue
        for part in parts[split:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(dotted)


def _page_id(page: Path) -> str:
    return page.name


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_dotted_names_resolve(page: Path) -> None:
    missing = []
    for dotted in sorted(set(DOTTED.findall(page.read_text(encoding="utf-8")))):
        try:
            _resolve_dotted(dotted)
        except (ImportError, AttributeError):
            if not _source_uses(dotted):
                missing.append(dotted)
    assert not missing, f"{page.name} names what sqs_async does not have: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_methods_attributes_and_keywords_of_our_objects_exist(page: Path) -> None:
    prose, blocks = _split_prose_and_code(page.read_text(encoding="utf-8"))
    texts = [*SPAN.findall(prose), *blocks]
    problems = []
    for text in texts:
        for receiver, name, keywords in _calls(text):
            owner = RECEIVERS.get(receiver)
            if owner is None or name.startswith("_"):  # ``queue._messages``: moto's, not ours
                continue
            if inspect.ismodule(owner) and not hasattr(owner, name):
                continue  # a submodule: test_dotted_names_resolve checks it
            if not hasattr(owner, name):
                problems.append(f"{receiver}.{name}()")
                continue
            problems += [
                f"{receiver}.{name}({keyword}=)"
                for keyword in keywords
                if not _accepts(getattr(owner, name), keyword)
            ]
        for receiver, name in ATTRIBUTE.findall(text):
            owner = RECEIVERS.get(receiver)
            if owner is None or name.startswith("_") or inspect.ismodule(owner):
                continue  # modules: test_dotted_names_resolve
            if not _has_attribute(owner, name):
                problems.append(f"{receiver}.{name}")
    assert not problems, f"{page.name} documents what the code does not have: {problems}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_names_called_in_prose_exist(page: Path) -> None:
    prose, _ = _split_prose_and_code(page.read_text(encoding="utf-8"))
    parameter_names = _all_parameter_names()
    problems = []
    for span in SPAN.findall(prose):
        lone = LONE_KEYWORD.match(span.strip())
        if lone and lone.group(1) not in parameter_names:
            problems.append(f"{lone.group(1)}=")
        for receiver, name, keywords in _calls(span):
            if receiver or name in FOREIGN:
                continue
            candidates = _bare_candidates(name)
            if not candidates:
                problems.append(f"{name}()")
                continue
            problems += [
                f"{name}({keyword}=)"
                for keyword in keywords
                if not any(_accepts(candidate, keyword) for candidate in candidates)
            ]
    assert not problems, f"{page.name} documents what the code does not have: {problems}"


def _table(page: str, header: str) -> list[list[str]]:
    """The rows of the table on ``docs/<page>`` whose header row starts with ``header``."""
    rows: list[list[str]] = []
    inside = False
    for line in (ROOT / "docs" / page).read_text(encoding="utf-8").splitlines():
        if line.startswith(f"| {header} |"):
            inside = True
        elif inside and line.startswith("|"):
            if not line.startswith("|---"):
                rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif inside:
            break
    assert rows, f"no table headed {header!r} on {page}"
    return rows


def test_the_errors_page_says_which_errors_are_retried_as_the_code_does() -> None:
    problems = []
    for cell, _, retried in _table("errors.md", "class"):
        cls = getattr(sqs_async, cell.strip("`"))
        documented = retried.strip("*") == "yes"
        if cls.retriable is not documented:
            problems.append(f"{cls.__name__}: page says {retried}, retriable={cls.retriable}")
    assert not problems, problems


def test_the_errors_page_maps_codes_as_for_code_does() -> None:
    problems = []
    for codes, target in _table("errors.md", "codes (JSON names and legacy names)"):
        cls = getattr(sqs_async, target.strip("`"))
        for code in re.findall(r"`([^`*]+)`", codes):
            if sqs_async.errors.for_code(code) is not cls:
                problems.append(f"{code}: page says {cls.__name__}")
            legacy = f"AWS.SimpleQueueService.{code}"
            if "." not in code and sqs_async.errors.for_code(legacy) is not cls:
                problems.append(f"{legacy}: page says {cls.__name__}")
    assert not problems, problems


def test_tests_named_in_the_docs_exist() -> None:
    """compatibility.md lists the tests each server fails; a renamed test must not linger."""
    defined: dict[str, set[str]] = {
        path.name: set(re.findall(r"^(?:async )?def (test_\w+)", path.read_text("utf-8"), re.M))
        for path in (ROOT / "tests").rglob("test_*.py")
    }
    every = set().union(*defined.values())
    problems = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for file_name, test in re.findall(r"`(test_\w+\.py)(?:::(test_\w+))?", text):
            if file_name not in defined or (test and test not in defined[file_name]):
                problems.append(f"{page.name}: {file_name}::{test}")
        problems += [
            f"{page.name}: {test}"
            for test in re.findall(r"`(test_\w+)(?:\[[^\]`]*\])?`", text)
            if test not in every
        ]
    assert not problems, problems


def _public_members() -> Iterator[tuple[str, Any, type | None]]:
    for module in PUBLIC_MODULES:
        yield module.__name__, module, None
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            yield f"{module.__name__}.{name}", obj, obj if inspect.isclass(obj) else None
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if not member.startswith("_") or member == "__init__":
                        yield f"{module.__name__}.{name}.{member}", value, obj


def _docstring(obj: Any) -> str:
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    if not (inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isroutine(obj)):
        return ""
    return obj.__doc__ or ""


def _role_resolves(target: str, owner: type | None) -> bool:
    target = target.removesuffix("()")
    head = target.split(".")[0]
    if owner is not None and _has_attribute(owner, head):
        return True
    if any(hasattr(module, head) for module in PUBLIC_MODULES):
        return True
    try:
        _resolve_dotted(target if target.startswith("sqs_async") else f"sqs_async.{target}")
    except (ImportError, AttributeError):
        return False
    return True


def test_public_docstrings_point_at_public_things_only() -> None:
    problems = []
    for where, obj, owner in _public_members():
        doc = _docstring(obj)
        if not doc:
            continue
        if PRIVATE_POINTER.search(doc) and not inspect.ismodule(obj):
            problems.append(f"{where}: points into a private module")
        problems += [
            f"{where}: :{role}:`{target}`"
            for role, target in ROLE.findall(doc)
            if not _role_resolves(target, owner)
        ]
    assert not problems, problems


ARGS_SECTION = re.compile(r"^(Args|Arguments|Parameters):\n((?:[ \t]+.*\n|\n)+)", re.M)


def test_public_docstrings_document_only_parameters_that_exist() -> None:
    problems, checked = [], 0
    for where, obj, _ in _public_members():
        doc = _docstring(obj)
        if not doc or inspect.ismodule(obj):
            continue
        function = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
        for section in ARGS_SECTION.finditer(inspect.cleandoc(doc) + "\n"):
            parameters = inspect.signature(function).parameters
            for name in re.findall(r"^ {4}\*{0,2}(\w+)(?: \([^)]*\))?:", section.group(2), re.M):
                checked += 1
                if name not in parameters:
                    problems.append(f"{where}: {name}")
    assert checked > 20, "the Args: sections were found"
    assert not problems, problems


def test_the_checks_see_a_missing_keyword_and_a_missing_method() -> None:
    """The parsing above is not vacuous: a made-up keyword and method are found."""
    calls = list(_calls("queue.write_batch(messages, deduplication_ids=ids, nope=1)"))
    assert calls == [("queue", "write_batch", ["deduplication_ids", "nope"])]
    write_batch = sqs_async.Queue.write_batch
    assert _accepts(write_batch, "deduplication_ids")
    assert not _accepts(write_batch, "nope")
    assert not hasattr(sqs_async.Queue, "write_bacth")
    assert _keywords("a, f(x=1), b={'k': 2}, c=3, d == 4") == ["b", "c"]
    assert not FOREIGN & set(dir(sqs_async)), "a name of ours is never foreign"
    assert PRIVATE_POINTER.search("Ask run to shut down (see the module docs for the steps).")
    assert PRIVATE_POINTER.search("Details: see :mod:`sqs_async._fetcher`.")
    assert not PRIVATE_POINTER.search("a child process (``python -m sqs_async._server``)")
