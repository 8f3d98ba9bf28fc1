"""AWS Signature Version 4 for SQS's AWS JSON 1.0 POST requests: pure, no I/O.

Layer: ``_signing`` depends only on ``_config`` and ``errors``; this module imports neither
(``Credentials`` is needed for type checking only).

Signing is on the hot path of every request, so everything that does not change from one
request to the next is computed once and cached:

* the derived signing key, per (secret key, date): valid for a whole UTC day;
* the timestamp strings, per whole second;
* a *template* of the canonical request, per (method, path, header names, token present):
  the sorted, lowercased header names, the signed-headers list and the canonical URI are
  baked into a ``str.format`` template, so a request only fills in the header values and
  the payload hash;
* trimmed header values (``Content-Type``, ``X-Amz-Target``, the host and the session
  token repeat on every request).

The output is byte-for-byte what ``botocore.auth.SigV4Auth`` produces for the same request
(tests/unit/test_sigv4.py checks this property on random requests). Spec:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, NamedTuple
from urllib.parse import quote

if TYPE_CHECKING:
    from sqs_async._signing.credentials import Credentials

__all__ = ["SigV4Signer"]

_ALGORITHM: Final = "AWS4-HMAC-SHA256"
_TIMESTAMP_FORMAT: Final = "%Y%m%dT%H%M%SZ"
_EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_SHA256_BLOCK_SIZE: Final = 64
# Headers the signer itself computes; a caller passing them would sign something else.
_RESERVED_HEADERS: Final = frozenset(
    {"authorization", "host", "x-amz-date", "x-amz-security-token"}
)
# Bounds on the caches below; they only fill up if callers vary paths, header sets or header
# values per request, and then clearing them is cheaper than an LRU's bookkeeping.
_MAX_TEMPLATES: Final = 256
_MAX_TRIMMED_VALUES: Final = 1024

# Positions of the per-request values in a template's format arguments; the caller's own
# header values follow, in the order the mapping yields them.
_HOST, _DATE, _TOKEN, _PAYLOAD, _FIRST_HEADER = range(5)
# Stands for the time while a canonical request is split around it (no header value sent
# over HTTP holds a NUL; one that does gets a format string instead of a split).
_DATE_MARK: Final = "\x00date\x00"


class _Template(NamedTuple):
    """The constant parts of a canonical request, for one header set."""

    canonical_request: str  # a str.format template, see _build_template()
    signed_headers: str  # the ``, SignedHeaders=...`` part of the Authorization header


def _derive_key(secret_key: str, datestamp: str, region: str, service: str) -> bytes:
    """Derive the SigV4 signing key (valid for one UTC day, region and service)."""
    import hmac  # on the first signature of a day or key: not worth an import-time cost

    key = hmac.digest(f"AWS4{secret_key}".encode(), datestamp.encode(), "sha256")
    key = hmac.digest(key, region.encode(), "sha256")
    key = hmac.digest(key, service.encode(), "sha256")
    return hmac.digest(key, b"aws4_request", "sha256")


def _hmac_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """Return the SHA-256 states after hashing ``key`` XOR ipad and XOR opad (RFC 2104).

    ``HMAC(key, msg) = H(key ^ opad || H(key ^ ipad || msg))``; the signing key is 32 bytes,
    shorter than SHA-256's 64-byte block, so it is zero-padded and never hashed first.
    """
    padded = key.ljust(_SHA256_BLOCK_SIZE, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))
    return inner, outer


def _trim(value: str) -> str:
    """SigV4 ``Trimall``: strip the value and collapse runs of whitespace to one space."""
    return " ".join(value.split())


def _canonical_uri(path: str) -> str:
    """The canonical URI of a (non-S3) request path.

    Dot segments and empty segments are removed (RFC 3986 section 5.2.4; AWS also collapses
    repeated slashes), then the path is URI-encoded once more, as SigV4 asks of every
    service but S3.
    """
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    normalized = "/".join(segments)
    if path.startswith("/"):
        normalized = "/" + normalized
    if path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized, safe="/~")


def _canonical_query(query: str) -> str:
    """The canonical query string of a URL's query, as botocore builds it for a request
    without form parameters: the ``key=value`` pairs sorted, each kept as written."""
    if not query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
    return "&".join(f"{key}={value}" for key, value in pairs)


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _build_template(method: str, path: str, names: tuple[str, ...], has_token: bool) -> _Template:
    """Build the canonical-request template for one method, path and header set.

    Raises:
        ValueError: A header name is one the signer sets itself, or appears twice.
    """
    path, _, query = path.partition("?")
    fields: dict[str, int] = {"host": _HOST, "x-amz-date": _DATE}
    if has_token:
        fields["x-amz-security-token"] = _TOKEN
    for index, name in enumerate(names, start=_FIRST_HEADER):
        lname = name.lower()
        if lname in _RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is set by the signer; do not pass it")
        if lname in fields:
            raise ValueError(f"header {name!r} is given twice (header names ignore case)")
        fields[lname] = index
    ordered = sorted(fields)
    canonical_headers = "".join(f"{_escape_braces(n)}:{{{fields[n]}}}\n" for n in ordered)
    signed = ";".join(ordered)
    canonical_request = (
        f"{_escape_braces(method.upper())}\n{_escape_braces(_canonical_uri(path))}\n"
        f"{_escape_braces(_canonical_query(query))}\n"
        f"{canonical_headers}\n{_escape_braces(signed)}\n{{{_PAYLOAD}}}"
    )
    return _Template(canonical_request, f", SignedHeaders={signed}, Signature=")


# (method, path, host, token, header items) -> the canonical request split around the time:
# (before, after, template), or (format string of the time and payload hash, None, template).
_CanonicalKey = tuple[str, str, str, str | None, tuple[tuple[str, str], ...]]
_Around = tuple[str, str | None, _Template]


class SigV4Signer:
    """Signs requests with AWS Signature Version 4, for one region and service.

    Not thread-safe (its caches are unlocked); use one per event loop, like the connection
    that owns it.

    Args:
        region: The AWS region requests are signed for, e.g. ``"eu-west-1"``.
        service: The signing name of the service.

    Raises:
        ValueError: ``region`` or ``service`` is empty.
    """

    __slots__ = (
        "_auth_prefix",
        "_canonical",
        "_hmac_inner",
        "_hmac_outer",
        "_key_access_key",
        "_key_datestamp",
        "_key_secret",
        "_region",
        "_scope_suffix",
        "_second",
        "_service",
        "_templates",
        "_timestamp",
        "_trimmed",
    )

    def __init__(self, region: str, service: str = "sqs") -> None:
        if not region or not service:
            raise ValueError("region and service must be non-empty strings")
        self._region = region
        self._service = service
        self._scope_suffix = f"/{region}/{service}/aws4_request"
        # The timestamp of the last whole second signed for.
        self._second: int | None = None
        self._timestamp = ""
        # The single-entry signing-key cache: the credentials and day it was derived for.
        self._key_secret: str | None = None
        self._key_access_key: str | None = None
        self._key_datestamp = ""
        # HMAC-SHA256 with the signing key, as the two hash states after the padded key
        # (RFC 2104): copying them per request is ~4x faster than hmac.digest() here.
        self._hmac_inner = hashlib.sha256()
        self._hmac_outer = hashlib.sha256()
        self._auth_prefix = ""  # "AWS4-HMAC-SHA256 Credential=<access key>/<scope>"
        self._templates: dict[tuple[str, str, tuple[str, ...], bool], _Template] = {}
        self._canonical: dict[_CanonicalKey, _Around] = {}
        self._trimmed: dict[str, str] = {}

    def sign(
        self,
        *,
        host: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        credentials: Credentials,
        now: float | None = None,
        method: str = "POST",
    ) -> dict[str, str]:
        """Sign one request.

        Args:
            host: The ``Host`` header value as sent: ``host[:port]``, the port left out when
                it is the scheme's default.
            path: The request path (``"/"`` for SQS's JSON protocol; empty means ``"/"``),
                with the endpoint's query string when it has one (``"/p?x=1"``).
            headers: The other headers sent, all of which are signed (e.g. ``Content-Type``,
                ``X-Amz-Target``). Must not hold ``Host``, ``X-Amz-Date``,
                ``X-Amz-Security-Token`` or ``Authorization``.
            body: The request body, exactly as sent.
            credentials: The credentials to sign with.
            now: The signing time as a unix timestamp; defaults to ``time.time()``.
            method: The HTTP method.

        Returns:
            The headers to add to the request: ``X-Amz-Date``, ``Authorization`` and, when
            the credentials hold a session token, ``X-Amz-Security-Token``.

        Raises:
            ValueError: ``headers`` holds a header the signer sets, or one name twice.
        """
        second = int(time.time() if now is None else now)
        if second != self._second:
            self._timestamp = time.strftime(_TIMESTAMP_FORMAT, time.gmtime(second))
            self._second = second
        timestamp = self._timestamp
        datestamp = timestamp[:8]

        secret = credentials.secret_key
        access_key = credentials.access_key
        if (
            datestamp != self._key_datestamp
            or secret != self._key_secret
            or access_key != self._key_access_key
        ):
            key = _derive_key(secret, datestamp, self._region, self._service)
            self._hmac_inner, self._hmac_outer = _hmac_states(key)
            self._auth_prefix = (
                f"{_ALGORITHM} Credential={access_key}/{datestamp}{self._scope_suffix}"
            )
            self._key_secret = secret
            self._key_access_key = access_key
            self._key_datestamp = datestamp

        token = credentials.token or None  # an empty token is no token (as in botocore)
        payload = hashlib.sha256(body).hexdigest() if body else _EMPTY_SHA256
        # The same operation repeats its method, path, host, token and header values: its
        # canonical request is cached around the two parts that change, the time and the
        # payload hash (one lookup instead of trimming and formatting every value).
        canonical_key = (method, path, host, token, tuple(headers.items()))
        around = self._canonical.get(canonical_key)
        if around is None:
            around = self._new_canonical(canonical_key)
        if around[1] is None:  # a header value holds the date marker: format it all
            canonical_request = around[0].format(timestamp, payload)
        else:
            canonical_request = f"{around[0]}{timestamp}{around[1]}{payload}"
        template = around[2]
        string_to_sign = (
            f"{_ALGORITHM}\n{timestamp}\n{datestamp}{self._scope_suffix}\n"
            f"{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        )
        inner = self._hmac_inner.copy()
        inner.update(string_to_sign.encode())
        outer = self._hmac_outer.copy()
        outer.update(inner.digest())
        signature = outer.hexdigest()
        signed = {
            "X-Amz-Date": timestamp,
            "Authorization": f"{self._auth_prefix}{template.signed_headers}{signature}",
        }
        if token is not None:
            signed["X-Amz-Security-Token"] = token
        return signed

    def _new_canonical(self, key: _CanonicalKey) -> _Around:
        """The canonical request of one header set and values, split around the time."""
        method, path, host, token, items = key
        template_key = (method, path, tuple(name for name, _ in items), token is not None)
        template = self._templates.get(template_key)
        if template is None:
            template = self._new_template(template_key)
        trimmed = self._trimmed
        values = [trimmed.get(value) or self._trim(value) for _, value in items]
        whole = template.canonical_request.format(
            trimmed.get(host) or self._trim(host),
            _DATE_MARK,
            "" if token is None else trimmed.get(token) or self._trim(token),
            "",  # the payload hash ends the canonical request
            *values,
        )
        before, _, after = whole.partition(_DATE_MARK)
        around: _Around = (before, after, template)
        if _DATE_MARK in after:  # a value holds the marker itself: a format string instead
            escaped = template.canonical_request.format(
                _escape_braces(trimmed.get(host) or self._trim(host)),
                "{0}",
                "" if token is None else _escape_braces(trimmed.get(token) or self._trim(token)),
                "{1}",
                *map(_escape_braces, values),
            )
            around = (escaped, None, template)
        if len(self._canonical) >= _MAX_TEMPLATES:
            self._canonical.clear()
        self._canonical[key] = around
        return around

    def _new_template(self, key: tuple[str, str, tuple[str, ...], bool]) -> _Template:
        method, path, names, has_token = key
        template = _build_template(method, path, names, has_token)
        if len(self._templates) >= _MAX_TEMPLATES:
            self._templates.clear()
        self._templates[key] = template
        return template

    def _trim(self, value: str) -> str:
        # Called on a cache miss, and for values that trim to "" (cached, but falsy).
        result = _trim(value)
        if len(self._trimmed) >= _MAX_TRIMMED_VALUES:
            self._trimmed.clear()
        self._trimmed[value] = result
        return result
