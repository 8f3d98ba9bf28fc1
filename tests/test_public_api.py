"""The public surface: ``sqs_async.__all__`` and the error classes named in SPEC §2."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import sqs_async
import sqs_async.errors

# SPEC §2 (plus ClientClosedError, which the lifecycle in STYLE.md relies on).
SPEC_ERRORS = [
    "SQSError",
    "QueueDoesNotExist",
    "QueueNotEmpty",
    "QueueAlreadyExists",
    "ReceiptHandleInvalid",
    "MessageTooLarge",
    "InvalidMessageContents",
    "BatchRequestError",
    "ThrottledError",
    "AuthError",
    "ServiceUnavailable",
    "ChecksumMismatch",
    "ValidationError",
    "ClientClosedError",
]

# SPEC §1: names users call.
SPEC_NAMES = [
    "SQSConnection",
    "connect_sqs",
    "Queue",
    "Message",
    "RawMessage",
    "Base64Message",
    "EncodedMessage",
    "JSONMessage",
    "MHMessage",
]


def test_all_is_sorted() -> None:
    assert sqs_async.__all__ == sorted(sqs_async.__all__)


def test_errors_all_is_sorted() -> None:
    assert sqs_async.errors.__all__ == sorted(sqs_async.errors.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(set(sqs_async.__all__)) == len(sqs_async.__all__)


def test_all_is_complete() -> None:
    public = {
        name
        for name in dir(sqs_async)  # lazily imported names included
        if not name.startswith("_")
        and name != "TYPE_CHECKING"
        and not inspect.ismodule(getattr(sqs_async, name))
    }
    assert public == set(sqs_async.__all__) - {"__version__"}
    for name in sqs_async.__all__:
        assert hasattr(sqs_async, name), name


def test_import_loads_no_submodule_but_errors() -> None:
    """``import sqs_async`` stays cheap: every other name is imported on first use."""
    code = (
        "import sys, sqs_async\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqs_async')))\n"
        "from sqs_async import Queue, connect_sqs\n"
        "print(Queue.__module__, connect_sqs.__module__, 'Queue' in vars(sqs_async))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded, resolved = done.stdout.splitlines()
    assert loaded == "['sqs_async', 'sqs_async.errors']"
    assert resolved == "sqs_async._queue sqs_async._connection True"


def test_client_import_defers_modules_only_some_calls_need() -> None:
    """decimal, datetime, hmac and orjson load on first use, and then work."""
    deferred = ("decimal", "datetime", "hmac", "orjson")
    code = (
        "import sys, sqs_async\n"
        "sqs_async.connect_sqs, sqs_async.Queue, sqs_async.Message\n"
        f"print(sorted(m for m in {deferred!r} if m in sys.modules))\n"
        "from sqs_async._protocol import codec\n"
        "from sqs_async._signing.sigv4 import _derive_key\n"
        "print(codec.loads(codec.dumps({'a': [1, 'x']})) == {'a': [1, 'x']})\n"
        "print(len(_derive_key('secret', '20260101', 'us-east-1', 'sqs')))\n"
        "m = sqs_async.Message(body='x')\n"
        "m.attributes['SentTimestamp'] = '1700000000000'\n"
        "print(m.sent_at.year)\n"
        "print(sorted(m for m in ('decimal', 'datetime', 'hmac') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    before, codec_ok, key_len, year, after = done.stdout.splitlines()
    assert before == "[]"
    assert codec_ok == "True"
    assert key_len == "32"
    assert year == "2023"
    assert after == "['datetime', 'hmac']"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'connect'"):
        sqs_async.connect  # type: ignore[attr-defined]  # noqa: B018


def test_every_error_class_is_exported_from_the_package() -> None:
    classes = {
        name
        for name in sqs_async.errors.__all__
        if isinstance(getattr(sqs_async.errors, name), type)
    }
    assert classes <= set(sqs_async.__all__)


@pytest.mark.parametrize("name", SPEC_ERRORS)
def test_spec_error_importable_from_both_modules(name: str) -> None:
    from_package = getattr(sqs_async, name)
    from_errors = getattr(sqs_async.errors, name)
    assert from_package is from_errors
    assert name in sqs_async.__all__
    assert name in sqs_async.errors.__all__
    assert issubclass(from_package, sqs_async.SQSError)


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_spec_names_exported(name: str) -> None:
    assert name in sqs_async.__all__


def test_validation_error_is_a_value_error() -> None:
    assert issubclass(sqs_async.ValidationError, ValueError)
    with pytest.raises(ValueError, match="too big"):
        raise sqs_async.ValidationError("too big")


def test_client_closed_error_is_a_runtime_error() -> None:
    assert issubclass(sqs_async.ClientClosedError, RuntimeError)


def test_aliases() -> None:
    assert sqs_async.RawMessage is sqs_async.Message
    assert sqs_async.EncodedMessage is sqs_async.Base64Message
    assert sqs_async.QueueNameExists is sqs_async.QueueAlreadyExists
    assert sqs_async.ReceiptHandleIsInvalid is sqs_async.ReceiptHandleInvalid
    assert sqs_async.ThrottlingError is sqs_async.ThrottledError


def test_connect_sqs_returns_a_connection_without_io() -> None:
    conn = sqs_async.connect_sqs("AKID", "SECRET", region="eu-west-1")
    assert isinstance(conn, sqs_async.SQSConnection)
    assert conn.region == "eu-west-1"


def test_every_exception_shape_in_the_sqs_model_has_a_class() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sqs")
    shapes = {
        shape.name
        for operation in model.operation_names
        for shape in model.operation_model(operation).error_shapes
    }
    assert shapes
    unmapped = sorted(
        name
        for name in shapes
        if sqs_async.errors.for_code(f"com.amazonaws.sqs#{name}", 400)
        is sqs_async.errors.UnknownServiceError
    )
    assert unmapped == []


def test_durations_may_be_timedeltas() -> None:
    """``datetime`` is not imported by the library, yet a timedelta given is understood."""
    from datetime import timedelta

    # accepted at run time; the fields are typed as the float each becomes
    two, minute, zero = timedelta(seconds=2), timedelta(minutes=1), timedelta(0)
    timeouts = sqs_async.Timeouts(connect=two, read=minute)  # type: ignore[arg-type]
    assert (timeouts.connect, timeouts.read) == (2.0, 60.0)
    with pytest.raises(ValueError, match=r"Timeouts\.pool must be a positive"):
        sqs_async.Timeouts(pool=zero)  # type: ignore[arg-type]
