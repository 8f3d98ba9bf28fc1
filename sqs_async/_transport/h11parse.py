"""An incremental HTTP/1.1 response parser: pure, no I/O.

Layer: used by ``http11``; imports only ``base``. It parses one response at a time, fed in
whatever pieces the socket delivers, and implements the message framing of RFC 9112 §6.3:

* 1xx interim responses are skipped; 204 and 304 have no body;
* ``Transfer-Encoding`` wins over ``Content-Length``; a final ``chunked`` coding is decoded
  (chunk extensions and trailers are read and dropped), any other coding is read to EOF;
* ``Content-Length`` must be one decimal value (repeated identical values are allowed);
* with neither, the body runs to the end of the connection.

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
        self._body: list[bytes] = []
        self._body_size = 0  # bytes in _body (chunked)
        self.keep_alive = True
        self.started = False

    def reset(self) -> None:
        """Get ready for the next response on the same connection."""
        self._state = _HEAD
        self._body = []
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
                    if len(buffer) > MAX_HEAD_BYTES + 3:  # no room left for a valid end
                        raise ProtocolViolation(
                            f"response header block over {MAX_HEAD_BYTES} bytes"
                        )
                    return None
                head = bytes(buffer[:end])
                del buffer[: end + 4]
                self._head(head, len(head))
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
                self._body.append(bytes(buffer[:take]))
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
                    if len(buffer) > MAX_HEAD_BYTES:
                        raise ProtocolViolation("trailer section too long")
                    return None
                del buffer[: end + 2]
                if end == 0:
                    return self._complete(b"".join(self._body))
                continue
            # _TO_EOF
            if len(buffer) > MAX_BODY_BYTES:
                raise ProtocolViolation(f"response body over {MAX_BODY_BYTES} bytes")
            return None

    def _complete(self, body: bytes) -> Response:
        response = Response(self._status, self._headers, body)
        self._state = _HEAD
        self._body = []
        self._body_size = 0
        return response

    def _head(self, data: bytes | bytearray, end: int) -> bool:
        """Parse the status line and headers in ``data[:end]``; set the body's framing.

        Returns False for an interim (1xx) response, which is skipped.
        """
        if end > MAX_HEAD_BYTES:  # the same bound however the bytes were split
            raise ProtocolViolation(f"response header block over {MAX_HEAD_BYTES} bytes")
        lines = bytes(data[:end]).split(b"\r\n")
        status_line = lines[0]
        parts = status_line.split(b" ", 2)
        if (
            len(parts) < 2
            or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0")
            or len(parts[1]) != 3
            or not parts[1].isdigit()
            or parts[1][:1] == b"0"
        ):
            raise ProtocolViolation(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name[-1:] in (b" ", b"\t") or name[:1] in (b" ", b"\t"):
                raise ProtocolViolation(f"malformed header line: {line[:80]!r}")
            key = name.decode("latin-1").lower()
            text = value.strip(b" \t").decode("latin-1")
            previous = headers.get(key)
            headers[key] = text if previous is None else f"{previous}, {text}"
        if 100 <= status < 200:
            return False  # 100 Continue and friends: the real response follows
        connection = headers.get("connection", "").lower()
        if parts[0] == b"HTTP/1.1":
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


def _chunk_size(line: bytes) -> int:
    text = line.split(b";", 1)[0].strip(b" \t")
    if not text or len(text) > 16 or text.strip(b"0123456789abcdefABCDEF"):
        raise ProtocolViolation(f"invalid chunk size line: {line[:40]!r}")
    return int(text, 16)
