"""moto's SQS server made safe under concurrent requests; ``python -m sqs_async._local_server``.

Layer: below ``sqs_async.local``, which installs this in its thread mode and runs this module
as the child process in its subprocess mode. Imports nothing else of sqs_async; moto is
imported only by `install` (it is the optional ``local`` extra).

Why (moto 5.2.5, ``moto/sqs/models.py``): werkzeug serves each request in its own thread and
``SQSBackend.receive_message`` mutates shared state without a lock:

- **Redrive.** Every receive that finds a message past ``maxReceiveCount`` collects it, then
  calls ``queue._messages.remove(message)``. Two concurrent receives collect the same message;
  the second ``remove`` raises ``ValueError`` (HTTP 500), after that call had already marked its
  other messages received (in flight, receipt handle changed): they reach no one until their
  visibility timeout ends, and count a receive towards their own redrive.
- **FIFO groups.** A receive copies ``queue.pending_message_groups`` once when it starts. A
  receive running meanwhile takes the head of a group; the first one skips that (now
  invisible) head but, its copy being stale, takes the group's next message: one group split
  across two responses, out of order.
- Iterating ``queue._pending_messages`` (a set) while another thread adds to it can also raise
  ``RuntimeError: Set changed size during iteration`` (HTTP 500).

The fix, `install`: every ``SQSBackend`` method runs under one process-wide lock. A long poll
is not one call under the lock: ``receive_message`` is run as a series of non-blocking attempts
(``wait_seconds_timeout=0``) under the lock, and between attempts it waits on a condition
variable of that lock, which releases it, so a parked poll never blocks other requests. The
wait ends when a backend call changed something (a send, a delete, a visibility change, a
message moved to a dead-letter queue…), when the next message of the queue becomes visible
or its delay ends, or after 1 s, whichever is first. Each attempt reads the in-flight groups
afresh, so the FIFO copy is never stale.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["install", "installed", "main", "parked", "uninstall"]

_MAX_WAIT = 1.0  # seconds between two attempts of a parked long poll when nothing wakes it
_VISIBLE_MARGIN = 0.002  # moto's check is "now > visible_at", in whole milliseconds

# Backend methods that change nothing a parked receive waits for: they do not wake it.
_READS = frozenset(
    {
        "get_queue",
        "get_queue_url",
        "get_queue_attributes",
        "list_queues",
        "list_queue_tags",
        "list_dead_letter_source_queues",
        "is_message_valid_based_on_retention_period",
        "iter_tagged_resources",
    }
)

_changed = threading.Condition(threading.RLock())
_held = threading.local()  # .depth: how many wrapped calls this thread is inside
_state_lock = threading.Lock()
_installs = 0
_originals: dict[tuple[type, str], Any] = {}
_parked = 0  # long polls waiting between two attempts now (changed under the lock)


def install() -> None:
    """Serialise moto's SQS backend in this process (see the module docs). Counted: each call
    needs its `uninstall`; the first one patches, the last `uninstall` restores moto.

    Raises:
        ImportError: If moto is not installed.
    """
    global _installs
    models = importlib.import_module("moto.sqs.models")
    with _state_lock:
        _installs += 1
        if _installs > 1:
            return
        backend, queue = models.SQSBackend, models.Queue
        names = [n for n, m in vars(backend).items() if inspect.isfunction(m) and n[0] != "_"]
        for name in [*names, "reset"]:  # reset (moto's /moto-api/reset) is inherited
            method = getattr(backend, name)
            _originals[(backend, name)] = vars(backend).get(name)
            if name == "receive_message":
                wrapped: Any = _receive_in_attempts(method, models.unix_time_millis)
            else:
                wrapped = _serialised(method, wakes=name not in _READS)
            setattr(backend, name, wrapped)
        # A message moved to a dead-letter queue during a receive must wake that queue's polls.
        _originals[(queue, "add_message")] = vars(queue)["add_message"]
        queue.add_message = _waking(queue.add_message)


def uninstall() -> None:
    """Undo one `install`; the last one puts moto's own methods back."""
    global _installs
    with _state_lock:
        if _installs == 0:
            return
        _installs -= 1
        if _installs:
            return
        for (owner, name), method in _originals.items():
            if method is None:
                delattr(owner, name)  # it was inherited: let the base class's show again
            else:
                setattr(owner, name, method)
        _originals.clear()


def installed() -> bool:
    """Whether moto's SQS backend is serialised in this process now."""
    return _installs > 0


def parked() -> int:
    """How many long polls of this process wait between two attempts now (for tests)."""
    return _parked


def _depth() -> int:
    depth: int = getattr(_held, "depth", 0)
    return depth


class _Held:
    """``with _Held():`` holds the lock and counts the nesting (for `_waking`)."""

    def __enter__(self) -> None:
        _changed.acquire()
        _held.depth = _depth() + 1

    def __exit__(self, *exc_info: object) -> None:
        _held.depth = _depth() - 1
        _changed.release()


def _serialised(method: Callable[..., Any], *, wakes: bool) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _Held():
            try:
                return method(self, *args, **kwargs)
            finally:
                if wakes:
                    _changed.notify_all()

    return call


def _waking(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        if _depth() > 0:  # outside a backend call (moto's own tests, say) there is no lock
            _changed.notify_all()
        return result

    return call


def _receive_in_attempts(
    method: Callable[..., Any], unix_time_millis: Callable[[], float]
) -> Callable[..., Any]:
    @functools.wraps(method)
    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        def attempt() -> Any:
            return method(self, queue_name, count, 0, visibility_timeout, message_attribute_names)

        with _Held():
            if _depth() > 1 or not wait_seconds_timeout:
                # Nested (moto's Lambda event-source path receives inside a send): never wait
                # there, it would release the lock in the middle of the outer call.
                return attempt()
            deadline = time.monotonic() + int(wait_seconds_timeout)
            queue = self.get_queue(queue_name)
            while True:
                result = attempt()
                remaining = deadline - time.monotonic()
                if result or remaining <= 0:
                    return result
                global _parked
                _parked += 1
                try:
                    _changed.wait(min(remaining, _MAX_WAIT, _next_change(queue, unix_time_millis)))
                finally:
                    _parked -= 1
                if self.queues.get(queue_name) is not queue:
                    return []  # deleted meanwhile: answer the poll now, empty

    return receive_message


def _next_change(queue: Any, unix_time_millis: Callable[[], float]) -> float:
    """Seconds until a message of ``queue`` becomes visible or its delay ends (or `_MAX_WAIT`)."""
    now = unix_time_millis()
    upcoming = [
        moment
        for message in queue._messages
        for moment in (message.visible_at, message.delayed_until)
        if moment > now
    ]
    if not upcoming:
        return _MAX_WAIT
    return float(min(upcoming) - now) / 1000 + _VISIBLE_MARGIN


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sqs_async._local_server -H HOST -p PORT``: moto's server, made safe.

    Takes moto's own command line (``python -m moto.server --help``).
    """
    install()
    server = importlib.import_module("moto.server")
    server.main(list(argv) if argv is not None else None)


if __name__ == "__main__":
    main()
