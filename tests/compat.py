"""Marks for integration tests that a particular SQS-compatible server gets wrong.

``scripts/compat`` runs ``tests/integration`` against each server it knows (LocalStack,
fauxqs, local-aws-sqs, moto) with ``SQS_ASYNC_COMPAT_SERVER=<name>`` set. A test decorated with
``@known_divergent("fauxqs", "why")`` is then expected to fail on that server only: it is
marked ``xfail(strict=False)`` there (fidelity can vary between runs and versions, so a pass is
not an error) and runs unchanged everywhere else, moto and AWS included. Use it only where the
server deviates from documented SQS behaviour (docs/compatibility.md lists each one), never
to hide a bug of ours.

Test modules import it by name (``from compat import known_divergent``): ``tests/`` is on
``sys.path`` because ``tests/conftest.py`` lives there.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["COMPAT_SERVER_ENV", "SERVERS", "compat_server", "known_divergent"]

COMPAT_SERVER_ENV = "SQS_ASYNC_COMPAT_SERVER"
"""Names the server the suite runs against (set by ``scripts/compat``)."""
SERVERS = frozenset({"moto", "localstack", "fauxqs", "local-aws-sqs"})
"""The names ``scripts/compat`` sets; a typo in a mark would otherwise never match."""


# What each server gets wrong, measured by scripts/compat (docs/compatibility.md has the
# details). Shared by the marks so that one defect reads the same everywhere.

FAUXQS_JSON_ONLY = "speaks AWS JSON 1.0 only: a query request reaches its SNS handler"
FAUXQS_ONE_PER_GROUP = (
    "returns at most one message per FIFO message group per ReceiveMessage "
    "(SQS returns as many of a group as it can)"
)
FAUXQS_REJECTS_EMOJI = (
    "rejects characters #x10000-#x10FFFF (emoji) as InvalidMessageContents; SQS allows them"
)
FAUXQS_GARBAGE_HANDLE = (
    "DeleteMessage with a malformed receipt handle succeeds (SQS: ReceiptHandleIsInvalid)"
)
FAUXQS_NO_DLQ_SOURCES = "does not implement ListDeadLetterSourceQueues (InvalidAction)"
FAUXQS_NO_PERMISSIONS = "does not implement AddPermission/RemovePermission (InvalidAction)"
FAUXQS_MD5_OF_ALL_ATTRIBUTES = (
    "computes MD5OfMessageAttributes over all of a message's attributes, not over the ones "
    "returned, so a receive filtered by MessageAttributeNames fails the MD5 check"
)

LOCAL_COUNTS_IN_FLIGHT = (
    "counts in-flight messages in ApproximateNumberOfMessages too (not only in ...NotVisible), "
    "so counts after a receive are too high and drains (dump, clear) never see the end"
)
LOCAL_FRESH_MESSAGE_DELAYED = (
    "reports a message sent without delay under ApproximateNumberOfMessagesDelayed, not "
    "ApproximateNumberOfMessages, for a few milliseconds after SendMessage"
)
LOCAL_IGNORES_SYSTEM_ATTRIBUTE_NAMES = (
    "ignores MessageSystemAttributeNames (botocore's name, sent over JSON), so no system "
    "attribute such as ApproximateReceiveCount comes back"
)
LOCAL_MD5_OF_CHARACTERS = (
    "computes MD5OfMessageAttributes over characters, not UTF-8 bytes, for non-ASCII values, "
    "so the client's MD5 check fails"
)
LOCAL_PURGE = (
    "applies PurgeQueue only after 60 s and then leaves delayed messages (SQS deletes every "
    "message sent before the purge)"
)
LOCAL_NO_GROUP_LOCK = (
    "delivers later messages of a FIFO group while an earlier one is in flight (no group lock)"
)
LOCAL_LONG_POLL_WAITS_FOR_A_FULL_BATCH = (
    "holds a long poll for the whole WaitTimeSeconds unless MaxNumberOfMessages messages are "
    "available (SQS answers as soon as any is), and starts their visibility timeout meanwhile"
)
LOCAL_LISTS_DELETED_QUEUES = (
    "lists a deleted queue in ListQueues for 60 s; the test expects it gone at once (AWS also "
    "allows up to 60 s, so this is the test's assumption)"
)
LOCAL_POLICY_STATEMENT_OBJECT = (
    "writes AddPermission's policy Statement as one object where AWS writes a list (both are "
    "valid policy JSON; the test reads a list)"
)


def compat_server() -> str | None:
    """The server named by ``SQS_ASYNC_COMPAT_SERVER``, or None outside a compatibility run."""
    return os.environ.get(COMPAT_SERVER_ENV) or None


def known_divergent(server: str, reason: str) -> pytest.MarkDecorator:
    """Expect the test to fail on ``server`` (``xfail(strict=False)``); no effect elsewhere.

    It is an ``xfail`` mark whose condition is "the suite runs against ``server``", so it
    decorates a test, or a whole module through ``pytestmark``, and several can be stacked.

    Args:
        server: One of `SERVERS`.
        reason: What the server does wrong, shown in pytest's report.

    Raises:
        ValueError: For a server name ``scripts/compat`` does not use, or an empty reason.

    Example::

        @known_divergent("fauxqs", "returns one message per FIFO group per receive")
        async def test_write_batch_on_a_fifo_queue_keeps_order(...): ...
    """
    if server not in SERVERS:
        raise ValueError(f"unknown server {server!r}; expected one of {sorted(SERVERS)}")
    if not reason.strip():
        raise ValueError("say why the server diverges")
    return pytest.mark.xfail(compat_server() == server, reason=f"{server}: {reason}", strict=False)
