"""ResponseParser (``_transport/h11parse``): incremental HTTP/1.1 response parsing.

Properties: a valid response (any final status, header names in any case, any body, framed by
Content-Length, chunked with extensions and trailers, or read to EOF; behind any number of 1xx
interim responses) parses to the same Response however its bytes are split, one byte at a time
included; two keep-alive responses parse one after the other on the same parser, and bytes
beyond a response show as ``leftover``; any input at all (valid, mutated, random) either parses
or raises ProtocolViolation, and the same way for every split. Examples: the keep-alive rules,
each kind of malformed input, the size bounds, and what ``feed_eof`` says when the peer closes
early.
"""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqs_async._transport.base import Response
from sqs_async._transport.h11parse import (
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    ProtocolViolation,
    ResponseParser,
)

_TCHAR = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
_VCHAR = _TCHAR + ' ,;:/="()<>?@[]{}'
_TOKENS = st.text(alphabet=_TCHAR, min_size=1, max_size=12)
_VALUES = st.text(alphabet=_VCHAR, max_size=30)
_OWS = st.sampled_from(["", " ", "\t", "  ", " \t "])
# none of these is a framing header (Connection, Content-Length, Transfer-Encoding)
_NAMES = st.one_of(
    st.sampled_from(["Date", "Server", "Content-Type", "X-Amzn-RequestId", "X-Dup", "Set-Cookie"]),
    _TOKENS.map(lambda token: "X-" + token),
)


@dataclass(frozen=True)
class Case:
    """One response on the wire and what the parser must make of it."""

    wire: bytes
    expected: Response
    to_eof: bool  # no framing: the response comes from feed_eof()
    keep_alive: bool


_MASKS = st.integers(0, 2**64 - 1)
_SMALL = st.integers(0, 3)
_POSITIONS = st.integers(0, 2**16)
_BOOLEANS = st.booleans()
_FIELDS = st.lists(st.tuples(_NAMES, _VALUES), max_size=8)
_TRAILERS = st.lists(st.tuples(_NAMES, _VALUES), max_size=3)
_INTERIM_FIELDS = st.lists(
    st.one_of(
        st.tuples(_NAMES, _VALUES),
        # an interim response's framing headers must not leak into the final one either
        st.sampled_from(
            [("Connection", "close"), ("Content-Length", "99"), ("Transfer-Encoding", "chunked")]
        ),
    ),
    max_size=3,
)
_EXTENSIONS = st.lists(
    st.one_of(
        _TOKENS.map(lambda name: f";{name}"),
        st.tuples(_TOKENS, _TOKENS).map(lambda nv: f";{nv[0]}={nv[1]}"),
        st.tuples(_TOKENS, _VALUES.filter(lambda v: '"' not in v)).map(
            lambda nv: f';{nv[0]}="{nv[1]}"'
        ),
    ),
    max_size=2,
)
_CUTS = st.lists(_POSITIONS, max_size=20)
_FINAL_STATUS = st.one_of(st.integers(200, 203), st.integers(205, 303), st.integers(305, 599))
_REASONS = st.text(alphabet=_TCHAR + " ", max_size=20)


def _any_case(draw: st.DrawFn, text: str) -> str:
    """``text`` with each letter's case chosen at random."""
    mask = draw(_MASKS)
    return "".join(c.upper() if mask >> (i % 64) & 1 else c.lower() for i, c in enumerate(text))


@st.composite
def interim_response(draw: st.DrawFn) -> bytes:
    if draw(_BOOLEANS):
        return b"HTTP/1.1 100 Continue\r\n\r\n"
    status = draw(st.sampled_from([100, 102, 103]))
    lines = "".join(f"{name}: {value}\r\n" for name, value in draw(_INTERIM_FIELDS))
    return f"HTTP/1.1 {status} Interim\r\n{lines}\r\n".encode("latin-1")


def _chunk_size_line(draw: st.DrawFn, size: int) -> bytes:
    digits = "0" * draw(_SMALL) + _any_case(draw, f"{size:x}")
    extensions = draw(_EXTENSIONS)
    bws: bool = draw(_BOOLEANS)  # whitespace before the extensions
    space = " " if extensions and bws else ""
    return f"{digits}{space}{''.join(extensions)}\r\n".encode("latin-1")


def _chunked_body(draw: st.DrawFn, body: bytes) -> bytes:
    cuts = {1 + c % (len(body) - 1) for c in draw(_CUTS)} if len(body) > 1 else set()
    bounds = [0, *sorted(cuts), len(body)] if body else [0]
    out = bytearray()
    for start, end in itertools.pairwise(bounds):
        out += _chunk_size_line(draw, end - start) + body[start:end] + b"\r\n"
    out += _chunk_size_line(draw, 0)
    for name, value in draw(_TRAILERS):
        out += f"{name}: {value}\r\n".encode("latin-1")  # trailers: read and dropped
    out += b"\r\n"
    return bytes(out)


@st.composite
def responses(draw: st.DrawFn, *, keep_alive_only: bool = False, max_body: int = 5000) -> Case:
    kinds = ["length", "chunked", "no-body"] if keep_alive_only else ["length", "chunked", "eof"]
    kinds.append("no-body")  # 204/304 as often as any framing
    kind = draw(st.sampled_from(kinds))
    status = draw(st.sampled_from([204, 304]) if kind == "no-body" else _FINAL_STATUS)
    version = "HTTP/1.1" if kind == "chunked" else draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    if not keep_alive_only:
        connection = draw(st.sampled_from([None, "close", "keep-alive"]))
    elif version == "HTTP/1.1":
        connection = draw(st.sampled_from([None, "keep-alive"]))
    else:
        connection = "keep-alive"
    body = b"" if kind == "no-body" else draw(st.binary(max_size=max_body))

    fields = [
        (_any_case(draw, name), draw(_OWS) + value + draw(_OWS)) for name, value in draw(_FIELDS)
    ]
    special: list[tuple[str, str]] = []
    if kind == "length":
        for _ in range(1 + draw(_BOOLEANS)):  # repeated identical values are allowed
            special.append(("Content-Length", draw(_OWS) + str(len(body)) + draw(_OWS)))
    elif kind == "chunked":
        special.append(("Transfer-Encoding", _any_case(draw, "chunked")))
    elif status == 304 and draw(_BOOLEANS):
        # a 304's Content-Length describes the representation, not this (empty) body
        special.append(("Content-Length", str(draw(_POSITIONS))))
    if connection is not None:
        special.append(("Connection", _any_case(draw, connection)))
    for name, value in special:
        fields.insert(draw(_POSITIONS) % (len(fields) + 1), (_any_case(draw, name), value))

    reason = draw(_REASONS)
    status_line = f"{version} {status}"
    if reason or draw(_BOOLEANS):
        status_line += f" {reason}"
    head = status_line + "\r\n" + "".join(f"{n}:{v}\r\n" for n, v in fields) + "\r\n"
    payload = _chunked_body(draw, body) if kind == "chunked" else body
    interims = b"".join(draw(st.lists(interim_response(), max_size=3)))

    headers: dict[str, str] = {}
    for name, value in fields:
        key, text = name.lower(), value.strip(" \t")
        headers[key] = text if key not in headers else f"{headers[key]}, {text}"
    if kind == "eof":
        keep_alive = False
    elif version == "HTTP/1.1":
        keep_alive = connection != "close"
    else:
        keep_alive = connection == "keep-alive"
    return Case(
        wire=interims + head.encode("latin-1") + payload,
        expected=Response(status, headers, body),
        to_eof=kind == "eof",
        keep_alive=keep_alive,
    )


_CUT_POINTS = st.lists(_POSITIONS, max_size=40)
_PIECE_SIZES = st.integers(1, 8)


@st.composite
def splits(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` in non-empty pieces: whole, at random points, or all of one size (1 included)."""
    how = draw(st.sampled_from(["whole", "points", "fixed"]))
    if how == "whole" or len(data) < 2:
        return [data]
    if how == "fixed":
        n = draw(_PIECE_SIZES)
        return [data[i : i + n] for i in range(0, len(data), n)]
    cuts = {1 + c % (len(data) - 1) for c in draw(_CUT_POINTS)}
    bounds = [0, *sorted(cuts), len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


def _parse(parser: ResponseParser, pieces: list[bytes], case: Case) -> Response:
    """Feed one response's pieces; only the last may complete it (or feed_eof, for to-EOF)."""
    response = None
    for i, piece in enumerate(pieces):
        response = parser.feed(piece)
        assert parser.started
        if i < len(pieces) - 1:
            assert response is None, f"complete after piece {i} of {len(pieces)}"
    if case.to_eof:
        assert response is None
        response = parser.feed_eof()
    assert response is not None
    assert parser.keep_alive is case.keep_alive
    assert not parser.leftover
    return response


def _feed_bytewise(parser: ResponseParser, wire: bytes) -> list[Response | None]:
    return [parser.feed(wire[i : i + 1]) for i in range(len(wire))]


def _outcome(pieces: list[bytes]) -> tuple[object, ...]:
    """What a fresh parser makes of these pieces, then EOF (any other exception propagates)."""
    parser = ResponseParser()
    try:
        for piece in pieces:
            response = parser.feed(piece)
            if response is not None:
                # (not ``leftover``: whether bytes past the end came in the same read as the
                # end depends on the split; the transport retires the connection either way)
                return ("response", response, parser.keep_alive)
        return ("eof", parser.feed_eof(), parser.keep_alive)
    except ProtocolViolation as exc:
        return ("violation", str(exc))


# -- properties ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(responses(), st.data())
def test_a_response_parses_the_same_however_it_is_split(case: Case, data: st.DataObject) -> None:
    pieces = data.draw(splits(case.wire), label="pieces")
    assert b"".join(pieces) == case.wire
    whole = _parse(ResponseParser(), [case.wire], case)
    split = _parse(ResponseParser(), pieces, case)
    assert whole == case.expected
    assert split == case.expected


@settings(max_examples=75, deadline=None)
@given(responses(keep_alive_only=True), responses(keep_alive_only=True), st.data())
def test_keep_alive_responses_parse_in_turn(first: Case, second: Case, data: st.DataObject) -> None:
    parser = ResponseParser()
    for case in (first, second):
        parser.reset()  # as the transport does before each request
        assert not parser.started
        pieces = data.draw(splits(case.wire), label="pieces")
        assert _parse(parser, pieces, case) == case.expected
        assert parser.keep_alive


@settings(max_examples=75, deadline=None)
@given(responses(keep_alive_only=True), responses(keep_alive_only=True), st.data())
def test_bytes_beyond_a_response_are_leftover(
    first: Case, second: Case, data: st.DataObject
) -> None:
    """Pieces may straddle the two responses: the straddling one leaves ``leftover``."""
    stream = first.wire + second.wire
    pieces = data.draw(splits(stream), label="pieces")
    parser = ResponseParser()
    got: list[Response] = []
    offset = 0
    for piece in pieces:
        offset += len(piece)
        response = parser.feed(piece)
        if response is None:
            continue
        got.append(response)
        if len(got) == 1:
            assert offset >= len(first.wire)
            assert parser.leftover is (offset > len(first.wire))
            parser.reset()
            if parser.leftover:
                # the buffered bytes may already hold all of the second response
                response = parser.feed(b"")
                if response is not None:
                    got.append(response)
    assert got == [first.expected, second.expected]
    assert not parser.leftover


@st.composite
def mutated_wire(draw: st.DrawFn) -> bytes:
    wire = bytearray(draw(responses(max_body=1000)).wire)
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(wire)))
        byte = draw(st.one_of(st.sampled_from(b"\r\n \t:;,0aZ"), st.integers(0, 255)))
        operation = draw(st.sampled_from(["replace", "insert", "delete"]))
        if operation == "insert":
            wire.insert(position, byte)
        elif position < len(wire):
            if operation == "replace":
                wire[position] = byte
            else:
                del wire[position]
    return bytes(wire)


_ANY_INPUT = st.one_of(
    mutated_wire(),
    st.binary(max_size=300).map(lambda tail: b"HTTP/1.1 200 OK\r\n" + tail),
    st.binary(max_size=300),
)


@settings(max_examples=200, deadline=None)
@given(_ANY_INPUT, st.data())
def test_any_input_parses_or_is_a_violation_the_same_for_every_split(
    wire: bytes, data: st.DataObject
) -> None:
    pieces = data.draw(splits(wire), label="pieces")
    assert _outcome(pieces) == _outcome([wire])


# -- keep-alive ------------------------------------------------------------------------------------

_EMPTY = "Content-Length: 0\r\n"


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (f"HTTP/1.1 200 OK\r\n{_EMPTY}", True),
        (f"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n{_EMPTY}", True),
        (f"HTTP/1.1 200 OK\r\nConnection: close\r\n{_EMPTY}", False),
        (f"HTTP/1.1 200 OK\r\nconnection: Close\r\n{_EMPTY}", False),
        (f"HTTP/1.1 500 Oops\r\n{_EMPTY}Connection: close\r\n", False),
        ("HTTP/1.1 204 No Content\r\n", True),
        ("HTTP/1.1 204 No Content\r\nConnection: close\r\n", False),
        (f"HTTP/1.0 200 OK\r\n{_EMPTY}", False),
        (f"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n{_EMPTY}", True),
        (f"HTTP/1.0 200 OK\r\nCONNECTION: Keep-Alive\r\n{_EMPTY}", True),
        ("HTTP/1.0 304 Not Modified\r\n", False),
        # both framings: a request-smuggling risk, never reused
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n", False),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n", False),
        (
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
            "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
            False,
        ),
    ],
)
def test_keep_alive_rules(head: str, keep_alive: bool) -> None:
    wire = head.encode() + b"\r\n"
    if "chunked" in head:
        wire += b"0\r\n\r\n"
    parser = ResponseParser()
    response = parser.feed(wire)
    assert response is not None
    assert response.body == b""
    assert parser.keep_alive is keep_alive
    assert not parser.leftover


def test_transfer_encoding_wins_over_content_length() -> None:
    parser = ResponseParser()
    wire = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    )
    response = parser.feed(wire)
    assert response == Response(
        200, {"content-length": "3", "transfer-encoding": "chunked"}, b"hello"
    )
    assert not parser.keep_alive
    assert not parser.leftover


@pytest.mark.parametrize(
    "head",
    [
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n",  # not chunked: read to EOF
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 5\r\n",
    ],
)
def test_a_body_without_length_runs_to_eof_and_closes(head: str) -> None:
    parser = ResponseParser()
    assert parser.feed(head.encode() + b"\r\n5\r\nhello\r\n") is None
    assert parser.feed(b"0\r\n\r\n") is None
    response = parser.feed_eof()
    assert response.status == 200
    assert response.body == b"5\r\nhello\r\n0\r\n\r\n"
    assert not parser.keep_alive
    assert not parser.leftover


def test_keep_alive_is_decided_afresh_for_each_response() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert not parser.keep_alive
    parser.reset()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert parser.keep_alive


def test_interim_responses_are_skipped() -> None:
    wire = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\nConnection: close\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )
    for pieces in ([wire], [wire[i : i + 1] for i in range(len(wire))]):
        parser = ResponseParser()
        responses = [parser.feed(piece) for piece in pieces]
        assert responses[-1] == Response(200, {"content-length": "2"}, b"ok")
        assert responses[:-1] == [None] * (len(pieces) - 1)
        assert parser.keep_alive


def test_bytes_after_a_response_in_the_same_read_are_leftover() -> None:
    parser = ResponseParser()
    response = parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1")
    assert response == Response(200, {"content-length": "2"}, b"hi")
    assert parser.leftover
    parser.reset()
    assert parser.leftover  # reset() keeps them: they are the start of the next response
    assert parser.feed(b" 204 No Content\r\n\r\n") == Response(204, {}, b"")
    assert not parser.leftover


# -- Content-Length ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "joined"),
    [
        ("Content-Length: 5, 5\r\n", "5, 5"),
        ("Content-Length: 5,5\r\n", "5,5"),
        ("Content-Length: 5\r\ncontent-length: 5\r\n", "5, 5"),
        ("Content-Length: 5 , 5 ,5\r\n", "5 , 5 ,5"),
    ],
)
def test_repeated_identical_content_lengths_are_accepted(fields: str, joined: str) -> None:
    wire = f"HTTP/1.1 200 OK\r\n{fields}\r\nhello".encode()
    for pieces in ([wire], [wire[i : i + 1] for i in range(len(wire))]):
        parser = ResponseParser()
        results = [parser.feed(piece) for piece in pieces]
        assert results[-1] == Response(200, {"content-length": joined}, b"hello")
        assert parser.keep_alive
        assert not parser.leftover


# -- malformed input -------------------------------------------------------------------------------

_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def _with_length(value: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\nhello"


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        pytest.param(b"HTTP/2 200 OK\r\n\r\n", "not an HTTP/1.x", id="http2"),
        pytest.param(b"HTTP/1.2 200 OK\r\n\r\n", "not an HTTP/1.x", id="http1.2"),
        pytest.param(b"http/1.1 200 OK\r\n\r\n", "not an HTTP/1.x", id="lowercase-http"),
        pytest.param(b"HTTP/1.1 20 OK\r\n\r\n", "not an HTTP/1.x", id="two-digit-status"),
        pytest.param(b"HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP/1.x", id="four-digit-status"),
        pytest.param(b"HTTP/1.1 2x0 OK\r\n\r\n", "not an HTTP/1.x", id="non-digit-status"),
        pytest.param(b"HTTP/1.1\r\n\r\n", "not an HTTP/1.x", id="no-status"),
        pytest.param(b"HTTP/1.1  200 OK\r\n\r\n", "not an HTTP/1.x", id="two-spaces"),
        pytest.param(b" HTTP/1.1 200 OK\r\n\r\n", "not an HTTP/1.x", id="leading-space"),
        pytest.param(b"garbage\r\n\r\n", "not an HTTP/1.x", id="garbage"),
        pytest.param(b"\x00\xff\r\n\r\n", "not an HTTP/1.x", id="binary"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\nhello", "header line", id="no-colon"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
            "header line",
            id="space-before-colon",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length\t: 5\r\n\r\nhello",
            "header line",
            id="tab-before-colon",
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\n: x\r\n\r\n", "header line", id="empty-name"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
            "header line",
            id="obs-fold",
        ),
        pytest.param(
            b"HTTP/1.1 100 Continue\r\nbad\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "header line",
            id="bad-interim-header",
        ),
        pytest.param(_with_length(b"abc"), "Content-Length", id="cl-abc"),
        pytest.param(_with_length(b"-1"), "Content-Length", id="cl-negative"),
        pytest.param(_with_length(b"+5"), "Content-Length", id="cl-plus"),
        pytest.param(_with_length(b"5.0"), "Content-Length", id="cl-decimal"),
        pytest.param(_with_length(b"0x5"), "Content-Length", id="cl-hex"),
        pytest.param(_with_length(b""), "Content-Length", id="cl-empty"),
        pytest.param(_with_length(b"5, 6"), "Content-Length", id="cl-two-values"),
        pytest.param(_with_length(b"5,"), "Content-Length", id="cl-trailing-comma"),
        pytest.param(_with_length(b"\xb2"), "Content-Length", id="cl-superscript-two"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            "Content-Length",
            id="cl-two-headers",
        ),
        pytest.param(_CHUNKED + b"zz\r\n", "chunk size", id="chunk-size-zz"),
        pytest.param(_CHUNKED + b"\r\n", "chunk size", id="chunk-size-empty"),
        pytest.param(_CHUNKED + b"0x5\r\nhello\r\n", "chunk size", id="chunk-size-0x"),
        pytest.param(_CHUNKED + b"-5\r\nhello\r\n", "chunk size", id="chunk-size-negative"),
        pytest.param(_CHUNKED + b";ext\r\n", "chunk size", id="chunk-size-only-extension"),
        pytest.param(_CHUNKED + b"5\r\nhelloXY0\r\n\r\n", "CRLF", id="chunk-data-no-crlf"),
        pytest.param(_CHUNKED + b"5\r\nhello\n0\r\n\r\n", "CRLF", id="chunk-data-bare-lf"),
        pytest.param(_CHUNKED + b"5\r\nhello!\r\n0\r\n\r\n", "CRLF", id="chunk-data-too-long"),
        # what is not HTTP fails on the bytes that show it, with no blank line to wait for
        # (issue 11: it used to cost the whole read timeout)
        pytest.param(b"SSH-2.0-OpenSSH_9.2\r\n", "it begins b'S'", id="ssh-banner"),
        pytest.param(b"\x15\x03\x03\x00\x02\x02\x46", "it begins", id="tls-alert"),
        pytest.param(b"HTTP/1.1 2000 OK\r\n", "status line", id="bad-status-line"),
        pytest.param(b"HTTP/1.1 200 OK\n", "bare LF", id="bare-lf-status-line"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\n", "bare LF", id="bare-lf-header"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\n", "bare LF", id="bare-lf-end"),
        pytest.param(_CHUNKED + b"5\nhello", "bare LF", id="bare-lf-chunk-size"),
        pytest.param(_CHUNKED + b"0\r\nX-T: 1\n", "bare LF", id="bare-lf-trailer"),
    ],
)
def test_malformed_input_is_a_protocol_violation(wire: bytes, match: str) -> None:
    with pytest.raises(ProtocolViolation, match=match):
        ResponseParser().feed(wire)
    with pytest.raises(ProtocolViolation, match=match):  # byte by byte: the same verdict
        _feed_bytewise(ResponseParser(), wire)


def test_a_header_block_over_the_bound_without_terminator_is_a_violation() -> None:
    head = b"HTTP/1.1 200 OK\r\nX-Big: "
    at_bound = head + b"a" * (MAX_HEAD_BYTES - len(head))
    assert len(at_bound) == MAX_HEAD_BYTES
    for size in (len(at_bound), 4096):
        parser = ResponseParser()
        for i in range(0, len(at_bound), size):
            assert parser.feed(at_bound[i : i + size]) is None  # at the bound: still waiting
        # up to 3 more bytes could still be the start of a terminator that ends in bounds
        assert parser.feed(b"aaa") is None
        with pytest.raises(ProtocolViolation, match="header block over"):
            parser.feed(b"a")
    with pytest.raises(ProtocolViolation, match="header block over"):
        ResponseParser().feed(at_bound + b"aaaa")
    # a terminated block over the bound is refused just the same, in one piece or many
    over = at_bound + b"a\r\nContent-Length: 0\r\n\r\n"
    with pytest.raises(ProtocolViolation, match="header block over"):
        ResponseParser().feed(over)
    with pytest.raises(ProtocolViolation, match="header block over"):
        _feed_bytewise(ResponseParser(), over)


def test_a_declared_body_over_the_bound_is_a_violation() -> None:
    parser = ResponseParser()
    at_bound = f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_BODY_BYTES}\r\n\r\n".encode()
    assert parser.feed(at_bound) is None  # at the bound: accepted, waiting for the body
    assert parser.started
    over = f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
    with pytest.raises(ProtocolViolation, match="body over"):
        ResponseParser().feed(over)
    with pytest.raises(ProtocolViolation, match="body over"):
        ResponseParser().feed(_CHUNKED + f"{MAX_BODY_BYTES + 1:x}\r\n".encode())


# -- the peer closes early -------------------------------------------------------------------------


def test_eof_before_any_byte() -> None:
    parser = ResponseParser()
    assert parser.feed(b"") is None
    assert not parser.started  # an empty read is no byte
    with pytest.raises(ProtocolViolation, match="before a response started"):
        parser.feed_eof()


@pytest.mark.parametrize(
    "partial",
    [
        b"H",
        b"HTTP/1.1 200 OK\r\nContent-Len",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        _CHUNKED,
        _CHUNKED + b"5\r\nhel",
        _CHUNKED + b"5\r\nhello\r\n0\r\n",  # trailer section not ended
    ],
)
def test_eof_in_the_middle_of_a_response(partial: bytes) -> None:
    parser = ResponseParser()
    assert parser.feed(partial) is None
    assert parser.started
    with pytest.raises(ProtocolViolation, match="in the middle of a response"):
        parser.feed_eof()


def test_started_is_cleared_by_reset() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") is not None
    assert parser.started
    parser.reset()
    assert not parser.started
    with pytest.raises(ProtocolViolation, match="before a response started"):
        parser.feed_eof()
    assert parser.feed(b"HTTP/1.1 200") is None
    assert parser.started
    with pytest.raises(ProtocolViolation, match="in the middle of a response"):
        parser.feed_eof()


def test_eof_ends_an_unframed_empty_body() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n") is None
    assert parser.feed_eof() == Response(200, {"server": "x"}, b"")
    assert not parser.keep_alive


# -- hostile peers (issue 11): fail at once, memory follows the body -------------------------------


@pytest.mark.parametrize("chunk", [2, 7])
def test_memory_follows_the_body_however_small_the_chunks(chunk: int) -> None:
    import tracemalloc

    size = 1 << 18
    data = bytes(range(256)) * (size // 256)
    wire = bytearray(_CHUNKED)
    for i in range(0, size, chunk):
        piece = data[i : i + chunk]
        wire += b"%x\r\n%s\r\n" % (len(piece), piece)
    wire += b"0\r\n\r\n"
    reads = [bytes(wire[i : i + 65536]) for i in range(0, len(wire), 65536)]
    del wire
    parser = ResponseParser()
    tracemalloc.start()
    try:
        response = None
        for read in reads:
            response = parser.feed(read)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response is not None
    assert response.body == data
    # the body (gathered, then copied out once) and a read's worth of buffer; one object per
    # chunk, as before, took about 20 times the body
    assert peak < 3 * size
