"""An incremental HTTP/1.1 response parser: pure, no I/O.

Layer: used by ``http11``; imports only ``base``. It parses one response at a time, fed in
whatever pieces the socket delivers, and implements the message framing of RFC 9112 §6.3:

* 1xx interim responses are skipped; 204 and 304 have no body;
* ``Transfer-Encoding`` wins over ``Content-Length``; a final ``chunked`` coding is decoded
  (chunk extensions and trailers are read and dropped), any other coding is read to EOF;
* ``Content-Length`` must be one decimal value (repeated identical values are allowed);
* with neither, the body runs to the end of the connection.

Lines end in CRLF: a bare LF anywhere in a head, a chunk-size line or a trailer is refused
(RFC 9112 §2.2 lets a recipient accept one; refusing it is the safe side against request
smuggling). What is obviously not an HTTP/1.x response (an SSH banner, a TLS alert, a bad
status line) is refused as soon as the bytes that show it arrive, not when a blank line that
may never come ends the head; the verdict depends on the bytes only, never on how the socket
split them. A chunked body is gathered in one ``bytearray``, so memory follows the body's
size however small the chunks are.

Header names come out lowercased, repeated headers joined with ``", "``. The whole exchange
is bounded (header block, body), so a broken or hostile peer gets a :class:`ProtocolViolation`
rather than unbounded memory. SQS responses are small (a received batch is at most about
10 MiB even with every byte escaped), so the bounds are generous.
"""

from __future__ import annotations

from typing import Final

from .base import Response

__all__ = ["MAX_BODY_BYTES", "MAX_HEAD_BYTES", "ProtocolViolation", "ResponseParser"]

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 256 * 1024 * 1024
_MAX_CHUNK_LINE: Final = 4096

# parser states
_HEAD, _FIXED, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _TO_EOF = range(7)


class ProtocolViolation(ValueError):
    """The bytes received are not a well-formed HTTP/1.x response."""


class ResponseParser:
    """Parses the responses of one connection, one after another.

    :meth:`feed` returns the :class:`Response` once it is complete (and ``None`` until
    then); :meth:`feed_eof` is called when the peer closes. After a complete response,
    :attr:`keep_alive` says whether the connection may carry another request, and
    :attr:`started` whether any byte of the current response has arrived.
    """

    __slots__ = (
        "_body",
        "_body_size",
        "_buffer",
        "_headers",
        "_remaining",
        "_state",
        "_status",
        "keep_alive",
        "started",
    )

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = _HEAD
        self._status = 0
        self._headers: dict[str, str] = {}
        self._remaining = 0
        self._body = bytearray()  # a chunked body, gathered as it comes
        self._body_size = 0  # bytes announced by the chunk sizes so far
        self.keep_alive = True
        self.started = False

    def reset(self) -> None:
        """Get ready for the next response on the same connection."""
        self._state = _HEAD
        if self._body:
            self._body = bytearray()
        self._body_size = 0
        self.started = False

    @property
    def leftover(self) -> bool:
        """Bytes arrived beyond the last complete response (the peer is out of step)."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> Response | None:
        """Take the next bytes; return the response once it is complete.

        Raises:
            ProtocolViolation: The bytes cannot be a valid response.
        """
        if data:
            self.started = True
        buffer = self._buffer
        if not buffer and self._state == _HEAD:
            # the common case: a whole small response in one read, parsed without copies
            end = data.find(b"\r\n\r\n")
            if end >= 0 and self._head(data, end):
                length = self._remaining
                if self._state == _FIXED and len(data) - end - 4 >= length:
                    start = end + 4
                    if len(data) > start + length:
                        buffer += data[start + length :]
                    return self._complete(data[start : start + length])
                buffer += data[end + 4 :]
                return self._advance()
        buffer += data
        return self._advance()

    def feed_eof(self) -> Response:
        """The peer closed the connection; return the response it ended, if any.

        Raises:
            ProtocolViolation: The connection closed before the response was complete.
        """
        if self._state == _TO_EOF:
            body = bytes(self._buffer)
            self._buffer.clear()
            self.keep_alive = False
            return self._complete(body)
        raise ProtocolViolation(
            "the connection closed before a response started"
            if not self.started
            else "the connection closed in the middle of a response"
        )

    # -- the state machine ------------------------------------------------------------------

    def _advance(self) -> Response | None:
        buffer = self._buffer
        while True:
            state = self._state
            if state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    _check_head_start(buffer, len(buffer))  # fail at once on what is not HTTP
                    if len(buffer) > MAX_HEAD_BYTES + 3:  # no room left for a valid end
                        raise ProtocolViolation(
                            f"response header block over {MAX_HEAD_BYTES} bytes"
                        )
                    return None
                self._head(buffer, end)
                del buffer[: end + 4]
                continue
            if state == _FIXED:
                length = self._remaining
                if len(buffer) < length:
                    return None
                body = bytes(buffer[:length])
                del buffer[:length]
                return self._complete(body)
            if state == _CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if 10 in buffer:
                        raise ProtocolViolation("chunk size line ends in a bare LF")
                    if len(buffer) > _MAX_CHUNK_LINE + 1:
                        raise ProtocolViolation("chunk size line too long")
                    return None
                if end > _MAX_CHUNK_LINE:
                    raise ProtocolViolation("chunk size line too long")
                size = _chunk_size(bytes(buffer[:end]))
                del buffer[: end + 2]
                if size == 0:
                    self._state = _TRAILER
                    continue
                self._body_size += size
                if self._body_size > MAX_BODY_BYTES:
                    raise ProtocolViolation(f"response body over {MAX_BODY_BYTES} bytes")
                self._remaining = size
                self._state = _CHUNK_DATA
                continue
            if state == _CHUNK_DATA:
                if not buffer:
                    return None
                take = min(self._remaining, len(buffer))
                if take == len(buffer):
                    self._body += buffer
                    buffer.clear()
                else:
                    self._body += buffer[:take]
                    del buffer[:take]
                self._remaining -= take
                if self._remaining:
                    return None
                self._state = _CHUNK_END
                continue
            if state == _CHUNK_END:
                if len(buffer) < 2:
                    return None
                if buffer[:2] != b"\r\n":
                    raise ProtocolViolation("chunk data not followed by CRLF")
                del buffer[:2]
                self._state = _CHUNK_SIZE
                continue
            if state == _TRAILER:
                # trailer fields (rare) are read and dropped; an empty line ends them
                end = buffer.find(b"\r\n")
                if end < 0:
                    if 10 in buffer:
                        raise ProtocolViolation("trailer line ends in a bare LF")
                    if len(buffer) > MAX_HEAD_BYTES:
                        raise ProtocolViolation("trailer section too long")
                    return None
                if buffer.find(b"\n", 0, end) >= 0:
                    raise ProtocolViolation("trailer line ends in a bare LF")
                del buffer[: end + 2]
                if end == 0:
                    return self._complete(bytes(self._body))
                continue
            # _TO_EOF
            if len(buffer) > MAX_BODY_BYTES:
                raise ProtocolViolation(f"response body over {MAX_BODY_BYTES} bytes")
            return None

    def _complete(self, body: bytes) -> Response:
        response = Response(self._status, self._headers, body)
        self._state = _HEAD
        if self._body:
            self._body = bytearray()
        self._body_size = 0
        return response

    def _head(self, data: bytes | bytearray, end: int) -> bool:
        """Parse the status line and headers in ``data[:end]``; set the body's framing.

        Returns False for an interim (1xx) response, which is skipped.
        """
        # One decode for the whole head, then str operations: each header line decoded
        # on its own costs several times more. latin-1 maps every byte, so the checks
        # below see exactly the bytes received.
        text = data[:end].decode("latin-1")
        lines = text.split("\r\n")
        status_line = lines[0]
        parts = status_line.split(" ", 2)
        code = parts[1] if len(parts) > 1 else ""
        if (  # _status_ok(parts), inline: this runs for every response
            len(code) != 3
            or parts[0] not in ("HTTP/1.1", "HTTP/1.0")
            or not code.isdigit()
            or not code.isascii()
            or code[0] == "0"
            or text.count("\n") != len(lines) - 1  # a bare LF
        ):
            _check_head_start(data, end + 2)  # raises, naming the first fault in the bytes
            raise ProtocolViolation(
                f"not an HTTP/1.x status line: {status_line[:80].encode('latin-1')!r}"
            )
        if end > MAX_HEAD_BYTES:  # the same bound however the bytes were split
            raise ProtocolViolation(f"response header block over {MAX_HEAD_BYTES} bytes")
        status = int(code)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name[-1] in " \t" or name[0] in " \t":
                raise ProtocolViolation(f"malformed header line: {line[:80].encode('latin-1')!r}")
            key = name.lower()
            value = value.strip(" \t")
            if key in headers:
                headers[key] = f"{headers[key]}, {value}"
            else:
                headers[key] = value
        if 100 <= status < 200:
            return False  # 100 Continue and friends: the real response follows
        connection = headers.get("connection", "").lower()
        if parts[0] == "HTTP/1.1":
            self.keep_alive = "close" not in connection
        else:
            self.keep_alive = "keep-alive" in connection
        self._status = status
        self._headers = headers
        encoding = headers.get("transfer-encoding")
        length_text = headers.get("content-length")
        if status in (204, 304):
            self._state = _FIXED
            self._remaining = 0
        elif encoding is not None:
            if length_text is not None:
                self.keep_alive = False  # both framings: a smuggling risk, never reuse
            if encoding.lower().rsplit(",", 1)[-1].strip() == "chunked":
                self._state = _CHUNK_SIZE
            else:
                self._state = _TO_EOF
                self.keep_alive = False
        elif length_text is not None:
            if length_text.isdigit():  # one value: the common case
                digits = length_text
            else:
                values = {v.strip() for v in length_text.split(",")}
                digits = values.pop() if len(values) == 1 else ""
            if not digits.isdigit() or not digits.isascii():
                raise ProtocolViolation(f"invalid Content-Length: {length_text[:40]!r}")
            length = int(digits)
            if length > MAX_BODY_BYTES:
                raise ProtocolViolation(f"response body over {MAX_BODY_BYTES} bytes")
            self._state = _FIXED
            self._remaining = length
        else:
            self._state = _TO_EOF
            self.keep_alive = False
        return True


_HTTP1: Final = b"HTTP/1."


def _status_ok(parts: list[bytes]) -> bool:
    """Whether ``status_line.split(b" ", 2)`` is an HTTP/1.x status line."""
    return (
        len(parts) >= 2
        and parts[0] in (b"HTTP/1.1", b"HTTP/1.0")
        and len(parts[1]) == 3
        and parts[1].isdigit()
        and parts[1][:1] != b"0"
    )


def _check_head_start(data: bytes | bytearray, end: int) -> None:
    """Refuse a head (``data[:end]``, complete or not) as soon as its bytes show it is bad.

    The checks go in the order of the bytes they look at (the first 7 bytes, the end of the
    status line, any later line end), so a response split anywhere gets the same verdict.

    Raises:
        ProtocolViolation: Not ``HTTP/1.``, a bad status line, or a line ending in a bare LF.
    """
    n = min(end, len(data), len(_HTTP1))
    if data[:n] != _HTTP1[:n]:
        bad = next(i for i in range(n) if data[i] != _HTTP1[i])
        raise ProtocolViolation(f"not an HTTP/1.x response: it begins {bytes(data[: bad + 1])!r}")
    first = data.find(b"\n", 0, end)
    if first < 0:
        return
    if data[first - 1] != 13:  # b"\r"
        raise ProtocolViolation("a line of the response head ends in a bare LF")
    status_line = bytes(data[: first - 1])
    if not _status_ok(status_line.split(b" ", 2)):
        raise ProtocolViolation(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    if data.count(b"\n", 0, end) != data.count(b"\r\n", 0, end):
        raise ProtocolViolation("a line of the response head ends in a bare LF")


def _chunk_size(line: bytes) -> int:
    text = line.split(b";", 1)[0].strip(b" \t")
    if not text or len(text) > 16 or text.strip(b"0123456789abcdefABCDEF"):
        raise ProtocolViolation(f"invalid chunk size line: {line[:40]!r}")
    return int(text, 16)
