"""The transport protocol: one HTTP POST, bytes in, status/headers/bytes out.

Also what both transports share at their edge: the check of an endpoint URL, the encoding of
a request head (a typed error, without the head's secrets, for what HTTP cannot carry) and
the text of an exception for our error messages.
"""

from __future__ import annotations

import asyncio
import functools
import select
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ..errors import ValidationError

if TYPE_CHECKING:
    import yarl

__all__ = ["Response", "Transport", "check_url", "describe", "encode_head", "input_check"]


class Response(NamedTuple):
    """A complete HTTP response (a named tuple: one is made per request, and a frozen
    dataclass costs four times as much to create)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Sends one request and returns the whole response.

    Implementations raise only :class:`~sqs_async.errors.TransportError` subclasses for
    failures to get a response (and :class:`~sqs_async.errors.ValidationError` for a
    request HTTP cannot carry, before any I/O), and never swallow cancellation. A cancelled
    request must not leak its connection.
    """

    async def request(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        read_timeout: float,
        long_poll: bool = False,
    ) -> Response:
        """POST ``body`` to ``url``.

        Args:
            url: The endpoint URL.
            headers: Every header to send (signed already).
            body: The request body.
            read_timeout: Seconds to wait for the response once the request is sent.
            long_poll: Use the long-poll lane (a separate pool, so long polls never
                starve other calls of connections).
        """
        ...

    async def aclose(self) -> None:
        """Close every pooled connection. Idempotent."""
        ...


def describe(exc: BaseException) -> str:
    """An exception's text for a message, never empty.

    ``str()`` of an exception made without arguments is ``""`` (``"()"`` for ``SSLError``,
    as some TLS refusals are); its class name says more than nothing.
    """
    text = str(exc)
    return text if text.strip("() ") else type(exc).__name__


def check_url(url: str, what: str = "endpoint_url") -> yarl.URL:
    """Parse an ``http(s)://`` URL given as ``what``.

    Raises:
        ValidationError: Not an absolute http(s) URL with a valid host and port. The
            message shows the URL without any password in it.
    """
    import yarl  # imported on first use: ``import sqs_async`` stays cheap (benchmarks/startup.py)

    parsed: yarl.URL | None
    try:
        parsed = yarl.URL(url, encoded=True)  # path and query as given, like botocore
        port = parsed.port
    except (ValueError, TypeError):
        parsed, port = None, None
    host = parsed.raw_host if parsed is not None else None
    if (
        parsed is None
        or parsed.scheme not in ("http", "https")
        or not host
        or not port
        or not host.isprintable()
        or " " in host
        or not _printable_ascii(host + parsed.raw_path_qs)  # the Host header and request line
    ):
        raise ValidationError(f"{what} {_redacted(url)!r} is not an http(s) URL with a host")
    return parsed


def _printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable() and " " not in text


def _redacted(url: str) -> str:
    """``url`` with the password of its user information replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url if "@" not in url else "***@" + url.rpartition("@")[2]
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        user, _, host = authority.rpartition("@")
        name = user.partition(":")[0]
        authority = f"{name}:***@{host}"
    return f"{scheme}{sep}{authority}{slash}{path}"


def encode_head(headers: Mapping[str, str], content_length: int | None = None) -> bytes:
    """The header lines of a request (each ending in CRLF) as bytes; with
    ``content_length``, also its ``Content-Length`` line and the blank line ending the head.

    Raises:
        ValidationError: A name or value holds a line break (header injection) or a
            character outside latin-1 (e.g. a session token pasted with a typographic
            character). The message names the header, never its value, and the error
            chains nothing (the whole signed head would be in a ``UnicodeEncodeError``).
    """
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        raise ValidationError(f"HTTP header {_offender(headers, _has_break)} contains a line break")
    if content_length is not None:
        lines = f"{lines}Content-Length: {content_length}\r\n\r\n"
    try:
        return lines.encode("latin-1")
    except UnicodeEncodeError:
        pass  # raised below, outside the handler: no context to chain
    raise ValidationError(
        f"HTTP header {_offender(headers, _not_latin1)} holds a character HTTP cannot carry "
        "(outside latin-1)"
    )


def _has_break(text: str) -> bool:
    return "\r" in text or "\n" in text


def _not_latin1(text: str) -> bool:
    return any(ord(c) > 255 for c in text)


def _offender(headers: Mapping[str, str], bad: Callable[[str], bool]) -> str:
    for name, value in headers.items():
        if bad(name):
            return "name " + repr("".join(c if c.isprintable() else "?" for c in name))
        if bad(value):
            return repr(name)
    return "(unknown)"  # pragma: no cover - only called when one is bad


def input_check(transport: asyncio.BaseTransport) -> Callable[[], object]:
    """A check of whether bytes (or an EOF) wait unread on ``transport``'s socket.

    Bytes that reach an idle pooled connection between two turns of the event loop have
    not been seen by its protocol yet; a request sent on it would take them for its
    response. Asking the socket before reuse (one ``poll``, about half a microsecond)
    closes that window. The check returns something true when there is input. Without a
    socket (a test double), it says no.
    """
    sock = transport.get_extra_info("socket")
    fd = sock.fileno() if sock is not None else -1
    if fd < 0:
        return _never
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return functools.partial(poller.poll, 0)
    return functools.partial(select.select, [fd], [], [], 0)  # pragma: no cover - Windows


def _never() -> bool:
    return False
