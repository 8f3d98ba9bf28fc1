"""SigV4Signer: byte-identical to botocore's SigV4Auth, known vectors, and its caches."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import string
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from unittest import mock

import botocore.auth
import botocore.credentials
import pytest
from botocore.awsrequest import AWSRequest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from sqs_async._signing import sigv4
from sqs_async._signing.credentials import Credentials
from sqs_async._signing.sigv4 import SigV4Signer

AWS_EXAMPLE = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
SQS_HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "AmazonSQS.SendMessage",
    "x-amzn-query-mode": "true",
}
SQS_BODY = b'{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123456789012/q","MessageBody":"hi"}'
DEFAULT_PORTS = {"http": 80, "https": 443}


def botocore_sign(
    *,
    scheme: str,
    host: str,
    port: int | None,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    now: float,
    region: str,
    service: str = "sqs",
    method: str = "POST",
) -> dict[str, str]:
    """Sign the same request with botocore; return the headers it added."""
    netloc = host if port is None else f"{host}:{port}"
    request = AWSRequest(method=method, url=f"{scheme}://{netloc}{path}", headers=dict(headers))
    request.data = body
    boto_credentials = botocore.credentials.Credentials(
        credentials.access_key, credentials.secret_key, credentials.token
    )
    # botocore takes the time from get_current_datetime() (a naive UTC datetime).
    frozen = dt.datetime.fromtimestamp(math.floor(now), dt.UTC).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=frozen):
        botocore.auth.SigV4Auth(boto_credentials, service, region).add_auth(request)
    added = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")
    return {name: request.headers[name] for name in added if name in request.headers}


def host_header(scheme: str, host: str, port: int | None) -> str:
    """The Host header as aiohttp sends it: the port only when it is not the default."""
    return host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"


# -- strategies ------------------------------------------------------------------------------

_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True)
_hosts = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda parts: ".".join(map(str, parts))),
    st.just("sqs.us-east-1.amazonaws.com"),
)
_regions = st.one_of(
    st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]),
    st.from_regex(r"[a-z]{2}-[a-z]{4,9}-[1-9]", fullmatch=True),
)
_paths = st.one_of(
    st.sampled_from(["", "/", "/sqs/", "//a/./b/../c//", "/123456789012/my-queue"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-._~/:@$%+!*é日", max_size=30).map(
        lambda text: "/" + text
    ),
)
# botocore never signs these (SIGNED_HEADERS_BLACKLIST), reads them specially (Date,
# X-Amz-Content-SHA256), or sets them itself; SigV4Signer refuses the last kind.
_NOT_PASSED = {
    *botocore.auth.SIGNED_HEADERS_BLACKLIST,
    "authorization",
    "date",
    "host",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
}
_header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True).filter(
    lambda name: name.lower() not in _NOT_PASSED
)
# Any text but CR/LF (never valid in a header) and lone surrogates (not encodable);
# plenty of spaces and tabs to exercise the whitespace trimming.
_header_values = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n")),
    st.text(alphabet=" \t ab,;=/\"'", max_size=12),
    st.sampled_from(list(SQS_HEADERS.values())),
)
_headers = st.dictionaries(_header_names, _header_values, max_size=6, dict_class=dict).filter(
    lambda headers: len({name.lower() for name in headers}) == len(headers)
)
_bodies = st.one_of(st.binary(max_size=300), st.text(max_size=100).map(str.encode))
_secret_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60)
_credentials = st.builds(
    Credentials,
    access_key=st.from_regex(r"(AKIA|ASIA)[A-Z0-9]{12,16}", fullmatch=True),
    secret_key=_secret_text,
    token=st.one_of(
        st.none(),
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n")),
    ),
)
# Up to the year 2100, with fractions of a second.
_timestamps = st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    region=_regions,
    service=st.sampled_from(["sqs", "sqs", "execute-api", "monitoring"]),
    scheme=st.sampled_from(["http", "https"]),
    host=_hosts,
    port=st.one_of(st.none(), st.sampled_from([80, 443, 4566, 9324]), st.integers(1, 65535)),
    path=_paths,
    headers=st.one_of(st.just(SQS_HEADERS), _headers),
    body=_bodies,
    credentials=_credentials,
    now=_timestamps,
    method=st.sampled_from(["POST", "POST", "GET", "PUT", "post"]),
)
def test_matches_botocore(
    region: str,
    service: str,
    scheme: str,
    host: str,
    port: int | None,
    path: str,
    headers: dict[str, str],
    body: bytes,
    credentials: Credentials,
    now: float,
    method: str,
) -> None:
    signer = SigV4Signer(region, service)
    expected = botocore_sign(
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        headers=headers,
        body=body,
        credentials=credentials,
        now=now,
        region=region,
        service=service,
        method=method,
    )
    for _ in range(2):  # the second time, from the signer's caches
        signed = signer.sign(
            host=host_header(scheme, host, port),
            path=path,
            headers=headers,
            body=body,
            credentials=credentials,
            now=now,
            method=method,
        )
        assert signed == expected


_queries = st.one_of(
    st.sampled_from(["x=1", "b=2&a=1", "a=2&a=1", "flag", "a=%41&b=%2F", "=v", "a=1&"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-._~%=&+", max_size=30),
)


@settings(max_examples=100, deadline=None)
@given(path=_paths, query=_queries, body=_bodies, now=_timestamps)
def test_an_endpoint_query_is_signed_as_botocore_signs_it(
    path: str, query: str, body: bytes, now: float
) -> None:
    """An endpoint's query string (``https://host/p?x=1``) is kept and signed, as written."""
    request: dict[str, Any] = {
        "path": f"{path or '/'}?{query}",
        "headers": SQS_HEADERS,
        "body": body,
        "credentials": AWS_EXAMPLE,
        "now": now,
    }
    expected = botocore_sign(
        scheme="https", host="vpce.example.com", port=None, region="eu-west-1", **request
    )
    assert SigV4Signer("eu-west-1").sign(host="vpce.example.com", **request) == expected


@settings(max_examples=50, deadline=None)
@given(
    region=_regions,
    requests=st.lists(
        st.tuples(
            st.one_of(st.just(SQS_HEADERS), _headers),
            _bodies,
            st.sampled_from([AWS_EXAMPLE, Credentials("ASIAROTATED", "rotated", "token")]),
            st.one_of(st.just(1_700_000_000.0), _timestamps),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_one_signer_many_requests_matches_botocore(
    region: str, requests: list[tuple[dict[str, str], bytes, Credentials, float]]
) -> None:
    """One signer, its caches carried over from request to request, signs every one right."""
    signer = SigV4Signer(region)
    for headers, body, credentials, now in requests:
        expected = botocore_sign(
            scheme="https",
            host="sqs.example.com",
            port=None,
            path="/",
            headers=headers,
            body=body,
            credentials=credentials,
            now=now,
            region=region,
        )
        signed = signer.sign(
            host="sqs.example.com",
            path="/",
            headers=headers,
            body=body,
            credentials=credentials,
            now=now,
        )
        assert signed == expected


# -- known vectors -----------------------------------------------------------------------


# From the AWS SigV4 test suite ("get-vanilla", "post-vanilla"): 2015-08-30T12:36:00Z.
VANILLA_TIME = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("method", "signature"),
    [
        ("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ],
)
def test_aws_test_suite_vectors(method: str, signature: str) -> None:
    signed = SigV4Signer("us-east-1", "service").sign(
        host="example.amazonaws.com",
        path="/",
        headers={},
        body=b"",
        credentials=AWS_EXAMPLE,
        now=VANILLA_TIME,
        method=method,
    )
    assert signed == {
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={signature}"
        ),
    }


def test_send_message_request_signs_every_header_and_the_token() -> None:
    credentials = Credentials("ASIAEXAMPLE", "secret", "the-token")
    signed = SigV4Signer("eu-west-1").sign(
        host="sqs.eu-west-1.amazonaws.com",
        path="/",
        headers=SQS_HEADERS,
        body=SQS_BODY,
        credentials=credentials,
        now=VANILLA_TIME,
    )
    assert signed["X-Amz-Security-Token"] == "the-token"
    assert signed["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20150830/eu-west-1/sqs/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target;"
        "x-amzn-query-mode, Signature="
    )


def test_hmac_states_compute_hmac_sha256() -> None:
    key = hashlib.sha256(b"any 32-byte key").digest()
    inner, outer = sigv4._hmac_states(key)
    inner.update(b"message")
    outer.update(inner.digest())
    assert outer.hexdigest() == hmac.new(key, b"message", "sha256").hexdigest()


# -- inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "example.com"},
        {"X-Amz-Date": "20150830T123600Z"},
        {"authorization": "AWS4-HMAC-SHA256 ..."},
        {"X-Amz-Security-Token": "token"},
        {"X-Custom": "a", "x-custom": "b"},
    ],
)
def test_rejects_headers_the_signer_owns_or_duplicates(headers: dict[str, str]) -> None:
    signer = SigV4Signer("us-east-1")
    with pytest.raises(ValueError, match="header"):
        signer.sign(host="h", path="/", headers=headers, body=b"", credentials=AWS_EXAMPLE, now=0)


@pytest.mark.parametrize(("region", "service"), [("", "sqs"), ("us-east-1", "")])
def test_rejects_empty_region_or_service(region: str, service: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        SigV4Signer(region, service)


def test_other_mapping_types_sign_like_a_dict() -> None:
    signer = SigV4Signer("us-east-1")

    def sign(headers: Mapping[str, str]) -> dict[str, str]:
        return signer.sign(
            host="h", path="/", headers=headers, body=SQS_BODY, credentials=AWS_EXAMPLE, now=1.0
        )

    expected = sign(dict(SQS_HEADERS))
    assert sign(MappingProxyType(SQS_HEADERS)) == expected
    assert sign(CIMultiDict(SQS_HEADERS)) == expected  # what aiohttp hands around


def test_now_defaults_to_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: VANILLA_TIME + 0.5)

    def sign(now: float | None) -> dict[str, str]:
        return SigV4Signer("us-east-1").sign(
            host="h", path="/", headers={}, body=b"", credentials=AWS_EXAMPLE, now=now
        )

    assert sign(None) == sign(VANILLA_TIME)


# -- caches --------------------------------------------------------------------------------


@pytest.fixture
def key_derivations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Count signing-key derivations."""
    calls: list[tuple[str, str]] = []
    real = sigv4._derive_key

    def counting(secret_key: str, datestamp: str, region: str, service: str) -> bytes:
        calls.append((secret_key, datestamp))
        return real(secret_key, datestamp, region, service)

    monkeypatch.setattr(sigv4, "_derive_key", counting)
    return calls


def _day(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return dt.datetime(2024, 2, day, hour, minute, second, tzinfo=dt.UTC).timestamp()


def test_signing_key_is_reused_all_day_and_derived_again_the_next(
    key_derivations: list[tuple[str, str]],
) -> None:
    signer = SigV4Signer("eu-west-1")

    def sign(now: float, credentials: Credentials = AWS_EXAMPLE) -> dict[str, str]:
        signed = signer.sign(
            host="sqs.eu-west-1.amazonaws.com",
            path="/",
            headers=SQS_HEADERS,
            body=SQS_BODY,
            credentials=credentials,
            now=now,
        )
        expected = botocore_sign(
            scheme="https",
            host="sqs.eu-west-1.amazonaws.com",
            port=None,
            path="/",
            headers=SQS_HEADERS,
            body=SQS_BODY,
            credentials=credentials,
            now=now,
            region="eu-west-1",
        )
        assert signed == expected
        return signed

    for now in (_day(1), _day(1, 0, 0, 1), _day(1, 12), _day(1, 23, 59, 59) + 0.999):
        sign(now)
    assert key_derivations == [(AWS_EXAMPLE.secret_key, "20240201")]

    sign(_day(2))  # a new UTC day: a new key
    sign(_day(2, 8))
    assert key_derivations[1:] == [(AWS_EXAMPLE.secret_key, "20240202")]

    rotated = Credentials("AKIDOTHER", "another-secret")
    sign(_day(2, 9), rotated)  # new credentials (a refresh): a new key
    sign(_day(2, 10), rotated)
    assert key_derivations[2:] == [("another-secret", "20240202")]


def test_canonical_template_is_built_once_per_header_set(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    real = sigv4._build_template

    def counting(
        method: str, path: str, names: tuple[str, ...], has_token: bool
    ) -> sigv4._Template:
        calls.append(names)
        return real(method, path, names, has_token)

    monkeypatch.setattr(sigv4, "_build_template", counting)
    signer = SigV4Signer("us-east-1")
    for target in ("SendMessage", "ReceiveMessage", "DeleteMessage"):
        headers = {**SQS_HEADERS, "X-Amz-Target": f"AmazonSQS.{target}"}
        for now in (1.0, 2.0):
            signer.sign(
                host="h", path="/", headers=headers, body=b"{}", credentials=AWS_EXAMPLE, now=now
            )
    assert calls == [tuple(SQS_HEADERS)]
