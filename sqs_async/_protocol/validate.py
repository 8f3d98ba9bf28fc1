"""Input checks made before any network I/O, with the limits SQS documents.

Each failure raises :class:`~sqs_async.errors.ValidationError` (or its subclass
:class:`~sqs_async.errors.MessageTooLarge`) with a message naming the field and the limit.
Sizes are counted in UTF-8 bytes, body plus every attribute's name, type and value, as
the service counts them.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._config import (
    MAX_ATTRIBUTE_NAME_LENGTH,
    MAX_BATCH_ENTRIES,
    MAX_DELAY_SECONDS,
    MAX_ID_LENGTH,
    MAX_MESSAGE_ATTRIBUTES,
    MAX_MESSAGE_BYTES,
    MAX_NUMBER_DIGITS,
    MAX_NUMBER_EXPONENT,
    MAX_QUEUE_NAME_LENGTH,
    MAX_RECEIVE_MESSAGES,
    MAX_VISIBILITY_TIMEOUT,
    MAX_WAIT_TIME_SECONDS,
    MIN_MESSAGE_BYTES,
    MIN_NUMBER_EXPONENT,
)
from ..errors import MessageTooLarge, ValidationError
from .operations import OPERATIONS, missing_members

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "body_size",
    "check_attributes",
    "clean_ascii",
    "check_body",
    "check_id",
    "check_queue_name",
    "check_receive",
    "check_range",
    "entry_size",
    "message_size",
    "validate_request",
]

# Characters SQS accepts: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
# Python strings may hold lone surrogates (#xD800-#xDFFF); they are outside the set too.
_INVALID_CHAR = "[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_DATA_TYPES = frozenset({"String", "Number", "Binary"})
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# Group and deduplication ids: alphanumerics and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~).
_ID_CHARS = re.compile(r"[!-~]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RESERVED_PREFIXES = ("aws.", "amazon.")
_NUMBER_LIMITS = (
    f"SQS numbers have at most {MAX_NUMBER_DIGITS} significant digits and are 0 or between "
    f"10^{MIN_NUMBER_EXPONENT} and 10^+{MAX_NUMBER_EXPONENT} in magnitude, positive or negative"
)

_QUEUE_ATTRIBUTE_RANGES: dict[str, tuple[int, int]] = {
    "VisibilityTimeout": (0, MAX_VISIBILITY_TIMEOUT),
    "DelaySeconds": (0, MAX_DELAY_SECONDS),
    "ReceiveMessageWaitTimeSeconds": (0, MAX_WAIT_TIME_SECONDS),
    "MessageRetentionPeriod": (60, 1_209_600),
    "MaximumMessageSize": (MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}


# The ASCII characters SQS accepts: tab, newline, carriage return and 0x20-0x7F.
_ALLOWED_ASCII = bytes([0x09, 0x0A, 0x0D, *range(0x20, 0x80)])
# Below this length str.isprintable() is the cheaper check of ASCII text; from here on
# deleting the allowed bytes of its encoding is (~9 instructions a character against ~26).
_SHORT = 256


def _clean_ascii_bytes(text: str) -> bool:
    """Whether ASCII ``text`` holds only characters SQS accepts."""
    return not text.encode().translate(None, _ALLOWED_ASCII)


def clean_ascii(text: str) -> bool:
    """Whether ``text`` is ASCII and holds only characters SQS accepts (one pass over it).

    True means :func:`check_body` would accept it if non-empty, and its size in bytes is
    its length. False says nothing: it may hold other characters SQS accepts.
    """
    return text.isascii() and not text.encode().translate(None, _ALLOWED_ASCII)


@functools.cache
def _invalid_char() -> re.Pattern[str]:
    """Compiled on first use (about 6 ms): only bodies that are not printable ASCII need it."""
    return re.compile(_INVALID_CHAR)


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def check_body(body: object, field: str = "MessageBody") -> str:
    """Check that ``body`` is a non-empty string of characters SQS accepts; return it."""
    if not isinstance(body, str):
        raise ValidationError(f"{field} must be a str, not {type(body).__name__}")
    if not body:
        raise ValidationError(f"{field} must not be empty (SQS requires at least 1 character)")
    if not body.isascii() or not (
        body.isprintable() if len(body) < _SHORT else _clean_ascii_bytes(body)
    ):
        bad = _invalid_char().search(body)
        if bad is not None:
            raise ValidationError(
                f"{field} contains the character U+{ord(bad.group()):04X} at index {bad.start()},"
                " which SQS does not allow (allowed: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD"
                " #x10000-#x10FFFF)"
            )
    return body


def check_range(field: str, value: object, low: int, high: int) -> None:
    """Check that ``value`` is an int within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(f"{field} is {value}; it must be between {low} and {high}")


def check_queue_name(name: object) -> str:
    """Check a queue name: 1-80 characters of ``[A-Za-z0-9_-]``, plus ``.fifo`` for FIFO."""
    if not isinstance(name, str):
        raise ValidationError(f"queue name must be a str, not {type(name).__name__}")
    stem = name[: -len(".fifo")] if name.endswith(".fifo") else name
    if len(name) > MAX_QUEUE_NAME_LENGTH or not _QUEUE_NAME.fullmatch(stem):
        raise ValidationError(
            f"queue name {name!r} is invalid: use 1 to 80 characters of A-Z, a-z, 0-9, '-' "
            "and '_' (a FIFO queue's name ends in '.fifo', counted in the 80)"
        )
    return name


def check_id(field: str, value: object) -> None:
    """Check a MessageGroupId / MessageDeduplicationId / ReceiveRequestAttemptId."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a str, not {type(value).__name__}")
    if not 1 <= len(value) <= MAX_ID_LENGTH or not _ID_CHARS.fullmatch(value):
        raise ValidationError(
            f"{field} {value!r} is invalid: use 1 to {MAX_ID_LENGTH} alphanumeric or "
            "punctuation characters"
        )


def _check_attribute_name(name: object, field: str) -> str:
    if not isinstance(name, str):
        raise ValidationError(f"{field}: attribute names must be str, not {type(name).__name__}")
    if (
        not 1 <= len(name) <= MAX_ATTRIBUTE_NAME_LENGTH
        or not _ATTRIBUTE_NAME.fullmatch(name)
        or name.startswith(".")
        or name.endswith(".")
        or ".." in name
    ):
        raise ValidationError(
            f"{field}: attribute name {name!r} is invalid: use 1 to "
            f"{MAX_ATTRIBUTE_NAME_LENGTH} characters of A-Z, a-z, 0-9, '_', '-' and '.', "
            "not starting or ending with '.', and no '..'"
        )
    if name.lower().startswith(_RESERVED_PREFIXES):
        raise ValidationError(
            f"{field}: attribute name {name!r} is reserved ('AWS.' and 'Amazon.' prefixes)"
        )
    return name


def _is_data_type(data_type: str) -> bool:
    """``String``, ``Number`` or ``Binary``, optionally followed by ``.`` and a label."""
    base, dot, label = data_type.partition(".")
    return base in _DATA_TYPES and (not dot or bool(label))


def _value_size(value: Mapping[str, Any], field: str, name: str) -> int:
    data_type = value.get("DataType") if isinstance(value, Mapping) else None
    if not isinstance(data_type, str) or not _is_data_type(data_type):
        raise ValidationError(
            f"{field}[{name!r}]: DataType must be String, Number or Binary, optionally with a "
            f"'.label'; got {data_type!r}"
        )
    if len(data_type) > MAX_ATTRIBUTE_NAME_LENGTH:
        raise ValidationError(
            f"{field}[{name!r}]: DataType is over {MAX_ATTRIBUTE_NAME_LENGTH} characters"
        )
    size = _utf8_len(data_type)
    base = data_type.partition(".")[0]
    if base == "Binary":
        raw = value.get("BinaryValue")
        if not isinstance(raw, bytes | bytearray | memoryview) or len(raw) == 0:
            raise ValidationError(f"{field}[{name!r}]: a Binary attribute needs non-empty bytes")
        return size + len(raw)
    text = value.get("StringValue")
    if not isinstance(text, str) or not text:
        raise ValidationError(f"{field}[{name!r}]: a {base} attribute needs a non-empty string")
    check_body(text, f"{field}[{name!r}]")
    if base == "Number":
        # decimal is imported here, on the first Number attribute: most programs never send
        # one, and its import is a tenth of what `import sqs_async` costs
        from decimal import Decimal, InvalidOperation

        number = Decimal("NaN")
        if _NUMBER.fullmatch(text):
            with contextlib.suppress(InvalidOperation):
                number = Decimal(text)
        if not number.is_finite():
            raise ValidationError(f"{field}[{name!r}]: {text!r} is not a number")
        _check_number(number, text, f"{field}[{name!r}]")
    return size + _utf8_len(text)


def _check_number(number: Decimal, text: str, field: str) -> None:
    """Check a Number attribute against SQS's documented precision and range."""
    if number.is_zero():
        return
    digits = number.as_tuple().digits
    significant = len(digits)
    while digits[significant - 1] == 0:  # trailing zeros are not precision (SQS trims them)
        significant -= 1
    if significant > MAX_NUMBER_DIGITS:
        raise ValidationError(
            f"{field}: {text!r} has {significant} significant digits; {_NUMBER_LIMITS}"
        )
    low, high = _number_range()
    if not low <= number.copy_abs() <= high:
        raise ValidationError(f"{field}: {text!r} is out of range; {_NUMBER_LIMITS}")


@functools.cache
def _number_range() -> tuple[Decimal, Decimal]:
    """The smallest and largest magnitude of a non-zero Number attribute."""
    from decimal import Decimal

    return Decimal(f"1E{MIN_NUMBER_EXPONENT}"), Decimal(f"1E{MAX_NUMBER_EXPONENT}")


def check_attributes(attributes: object, field: str = "MessageAttributes") -> int:
    """Check message attributes in the wire shape; return their size in bytes."""
    if not isinstance(attributes, Mapping):
        raise ValidationError(f"{field} must be a mapping of name to value")
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise ValidationError(
            f"{field} has {len(attributes)} attributes; the limit is {MAX_MESSAGE_ATTRIBUTES}"
        )
    size = 0
    for name, value in attributes.items():
        size += _utf8_len(_check_attribute_name(name, field))
        size += _value_size(value, field, name)
    return size


def message_size(body: str, attributes: Mapping[str, Any] | None = None) -> int:
    """Size in bytes that counts against the message size limit (assumes checked input)."""
    size = _utf8_len(body)
    if attributes:
        for name, value in attributes.items():
            size += _utf8_len(name) + _utf8_len(value["DataType"])
            if "BinaryValue" in value:
                size += len(value["BinaryValue"])
            else:
                size += _utf8_len(value.get("StringValue") or "")
    return size


def _too_large(size: int, limit: int) -> MessageTooLarge:
    return MessageTooLarge(
        f"message is {size} bytes (body and attributes); the limit is {limit} bytes"
    )


def body_size(body: object, limit: int, field: str = "MessageBody") -> int:
    """Check a message that is a body alone (no attributes); return its size in bytes."""
    size = _utf8_len(check_body(body, field))
    if size > limit:
        raise _too_large(size, limit)
    return size


def entry_size(entry: Mapping[str, Any], limit: int, field: str = "MessageBody") -> int:
    """Check one message (SendMessage params or a batch entry); return its size in bytes."""
    body = check_body(entry.get("MessageBody"), field)
    size = _utf8_len(body)
    attributes = entry.get("MessageAttributes")
    if attributes:
        size += check_attributes(attributes)
    system = entry.get("MessageSystemAttributes")
    if system:  # checked, but system attributes do not count towards the size limit
        check_attributes(system, "MessageSystemAttributes")
    if size > limit:
        raise _too_large(size, limit)
    delay = entry.get("DelaySeconds")
    if delay is not None:
        check_range("DelaySeconds", delay, 0, MAX_DELAY_SECONDS)
    for key in ("MessageGroupId", "MessageDeduplicationId"):
        value = entry.get(key)
        if value is not None:
            check_id(key, value)
    return size


def _check_entries(entries: object, field: str = "Entries") -> list[Mapping[str, Any]]:
    if not isinstance(entries, list | tuple) or not entries:
        raise ValidationError(f"{field} must be a non-empty list")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise ValidationError(
            f"{field} has {len(entries)} entries; the limit is {MAX_BATCH_ENTRIES} per batch"
        )
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry.get("Id") if isinstance(entry, Mapping) else None
        if not isinstance(entry_id, str) or not _BATCH_ID.fullmatch(entry_id):
            raise ValidationError(
                f"{field}: entry Id {entry_id!r} is invalid (1 to 80 of A-Z a-z 0-9 - _)"
            )
        if entry_id in seen:
            raise ValidationError(f"{field}: entry Id {entry_id!r} appears twice")
        seen.add(entry_id)
    return list(entries)


def _check_queue_attributes(attributes: object) -> None:
    if not isinstance(attributes, Mapping):
        raise ValidationError("Attributes must be a mapping of attribute name to value")
    for name, value in attributes.items():
        if not isinstance(value, str):
            raise ValidationError(f"queue attribute {name} must be a str, got {value!r}")
        bounds = _QUEUE_ATTRIBUTE_RANGES.get(name)
        if bounds is not None:
            try:
                number = int(value)
            except ValueError:
                raise ValidationError(f"queue attribute {name} must be an integer") from None
            check_range(name, number, *bounds)


def check_receive(params: Mapping[str, Any]) -> None:
    """Check the limits of ReceiveMessage parameters."""
    count = params.get("MaxNumberOfMessages")
    if count is not None:
        check_range("MaxNumberOfMessages", count, 1, MAX_RECEIVE_MESSAGES)
    timeout = params.get("VisibilityTimeout")
    if timeout is not None:
        check_range("VisibilityTimeout", timeout, 0, MAX_VISIBILITY_TIMEOUT)
    wait = params.get("WaitTimeSeconds")
    if wait is not None:
        check_range("WaitTimeSeconds", wait, 0, MAX_WAIT_TIME_SECONDS)
    attempt = params.get("ReceiveRequestAttemptId")
    if attempt is not None:
        check_id("ReceiveRequestAttemptId", attempt)


def _send_batch(params: Mapping[str, Any], limit: int) -> None:
    total = 0
    for index, entry in enumerate(_check_entries(params["Entries"])):
        total += entry_size(entry, limit, f"Entries[{index}].MessageBody")
    if total > limit:
        raise MessageTooLarge(f"batch is {total} bytes in all; the limit is {limit} bytes")


def _visibility_batch(params: Mapping[str, Any]) -> None:
    for entry in _check_entries(params["Entries"]):
        if not entry.get("ReceiptHandle"):
            raise ValidationError("Entries: every entry needs a ReceiptHandle")
        timeout = entry.get("VisibilityTimeout")
        if timeout is not None:
            check_range("VisibilityTimeout", timeout, 0, MAX_VISIBILITY_TIMEOUT)


def _delete_batch(params: Mapping[str, Any]) -> None:
    for entry in _check_entries(params["Entries"]):
        if not entry.get("ReceiptHandle"):
            raise ValidationError("Entries: every entry needs a ReceiptHandle")


def validate_request(operation: str, params: Mapping[str, Any], limit: int) -> None:
    """Check the parameters of ``operation`` before they are sent.

    Args:
        operation: The SQS operation name, e.g. ``"SendMessage"``.
        params: Its parameters in botocore's shape.
        limit: The message size limit in bytes.

    Raises:
        ValidationError: A parameter is missing, malformed or out of range.
    """
    if operation not in OPERATIONS:
        raise ValidationError(f"unknown SQS operation {operation!r}")
    missing = missing_members(operation, params)
    if missing:
        raise ValidationError(f"{operation} needs {', '.join(missing)}")
    if operation == "SendMessage":
        entry_size(params, limit)
    elif operation == "SendMessageBatch":
        _send_batch(params, limit)
    elif operation == "ReceiveMessage":
        check_receive(params)
    elif operation == "DeleteMessageBatch":
        _delete_batch(params)
    elif operation == "ChangeMessageVisibilityBatch":
        _visibility_batch(params)
    elif operation == "ChangeMessageVisibility":
        check_range("VisibilityTimeout", params["VisibilityTimeout"], 0, MAX_VISIBILITY_TIMEOUT)
    elif operation in ("CreateQueue", "GetQueueUrl"):
        check_queue_name(params["QueueName"])
        if operation == "CreateQueue" and params.get("Attributes"):
            _check_queue_attributes(params["Attributes"])
    elif operation == "SetQueueAttributes":
        _check_queue_attributes(params["Attributes"])
