"""Region, endpoint and CA bundle: resolved as botocore resolves them for the same files.

Every case writes its own AWS config file and environment, then asks botocore itself (a
session and an SQS client whose first request is stopped before it is sent) where it would
send a request and for which region, and checks that a connection sends to the same URL and
signs for the same region. No network: the connection's transport is a MockTransport.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import botocore.credentials
import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from botocore.exceptions import NoRegionError as BotoNoRegionError

from sqs_async import AuthError, NoRegionError, SQSConnection, ValidationError
from sqs_async._signing import settings as settings_module
from sqs_async._signing.settings import Settings, resolve_settings
from sqs_async._transport.mock import MockTransport, RecordedCall


@pytest.fixture
def config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An AWS config file of the test's own (tests/conftest.py emptied the environment)."""
    path = tmp_path / "aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    return path


def write(path: Path, text: str) -> None:
    path.write_text(text)


class _Stop(Exception):
    pass


def _stop(request: Any, **_: Any) -> None:
    raise _Stop(request.url)


def botocore_resolves(
    *, region: str | None = None, endpoint_url: str | None = None, profile: str | None = None
) -> tuple[str, str]:
    """Where botocore sends a ListQueues, and the region its client signs for."""
    session = botocore.session.Session(profile=profile)
    client: Any = session.create_client(
        "sqs",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    client.meta.events.register("before-send.sqs", _stop)
    try:
        client.list_queues()
    except _Stop as stopped:
        return client.meta.region_name, str(stopped.args[0])
    finally:
        client.close()
    raise AssertionError("botocore sent the request")


def _ok(call: RecordedCall) -> dict[str, Any]:
    return {"QueueUrls": []}


async def we_resolve(**kwargs: Any) -> tuple[str, str]:
    """Where a connection sends a ListQueues, and the region in its credential scope."""
    mock = MockTransport(_ok)
    async with SQSConnection("AKIDEXAMPLE", "secret", transport=mock, **kwargs) as conn:
        await conn.list_queues()
    (call,) = mock.calls
    scope_region = call.headers["Authorization"].split("/")[2]
    assert conn.region == scope_region
    return scope_region, call.url


def _same_request_target(ours: str, theirs: str) -> bool:
    """The same URL, where botocore writes the JSON protocol's ``/`` after an endpoint
    that has no path of its own (``https://sqs.eu-west-1.amazonaws.com/``)."""
    return ours == theirs or (urlsplit(ours).path == "" and ours + "/" == theirs)


async def assert_as_botocore(**kwargs: Any) -> tuple[str, str]:
    theirs = botocore_resolves(**kwargs)
    ours = await we_resolve(**kwargs)
    assert ours[0] == theirs[0], (ours, theirs)
    assert _same_request_target(ours[1], theirs[1]), (ours, theirs)
    return ours


async def resolved_from(
    monkeypatch: pytest.MonkeyPatch,
    config_file: Path,
    config: str,
    env: dict[str, str],
    kwargs: dict[str, str],
) -> tuple[str, str]:
    """Write the config file and the environment; check we resolve what botocore resolves."""
    write(config_file, config)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return await assert_as_botocore(**kwargs)


# -- region ----------------------------------------------------------------------------------

PROFILES = "[default]\nregion = eu-central-1\n[profile work]\nregion = ap-south-1\n"


@pytest.mark.parametrize(
    ("env", "kwargs", "expected"),
    [
        ({}, {}, "eu-central-1"),
        ({}, {"profile": "work"}, "ap-south-1"),
        ({"AWS_PROFILE": "work"}, {}, "ap-south-1"),
        ({}, {"region": "sa-east-1"}, "sa-east-1"),
        ({"AWS_DEFAULT_REGION": "ca-central-1"}, {}, "ca-central-1"),
        ({"AWS_DEFAULT_REGION": "ca-central-1"}, {"profile": "work"}, "ca-central-1"),
        ({"AWS_DEFAULT_REGION": "ca-central-1"}, {"region": "sa-east-1"}, "sa-east-1"),
        # botocore never reads AWS_REGION: AWS_DEFAULT_REGION and the profile win over it
        ({"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "ca-central-1"}, {}, "ca-central-1"),
        ({"AWS_REGION": "eu-west-3"}, {"profile": "work"}, "ap-south-1"),
    ],
)
async def test_region_precedence_is_botocores(
    monkeypatch: pytest.MonkeyPatch,
    config_file: Path,
    env: dict[str, str],
    kwargs: dict[str, str],
    expected: str,
) -> None:
    region, url = await resolved_from(monkeypatch, config_file, PROFILES, env, kwargs)
    assert region == expected
    assert url == f"https://sqs.{expected}.amazonaws.com"


async def test_aws_region_is_the_last_resort_where_botocore_has_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    with pytest.raises(BotoNoRegionError):
        botocore_resolves()
    assert await we_resolve() == ("eu-west-3", "https://sqs.eu-west-3.amazonaws.com")


async def test_no_region_anywhere_is_a_typed_error_before_any_io(config_file: Path) -> None:
    write(config_file, "[default]\noutput = json\n")
    with pytest.raises(BotoNoRegionError):
        botocore_resolves()
    mock = MockTransport(_ok)
    conn = SQSConnection("AKIDEXAMPLE", "secret", transport=mock)
    assert conn.region is None
    with pytest.raises(NoRegionError, match="no AWS region") as info:
        await conn.list_queues()
    assert isinstance(info.value, ValidationError)
    assert isinstance(info.value, ValueError)
    with pytest.raises(NoRegionError):
        async with conn:
            pass
    assert mock.calls == []
    await conn.close()


@pytest.mark.parametrize("configured", ["argument", "environment", "config file"])
async def test_an_endpoint_without_a_region_signs_for_us_east_1(
    monkeypatch: pytest.MonkeyPatch, config_file: Path, configured: str
) -> None:
    # botocore refuses this (NoRegionError); local servers take any region.
    kwargs: dict[str, Any] = {}
    if configured == "argument":
        kwargs["endpoint_url"] = "http://127.0.0.1:4566"
    elif configured == "environment":
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    else:
        write(config_file, "[default]\nendpoint_url = http://127.0.0.1:4566\n")
    with pytest.raises(BotoNoRegionError):
        botocore_resolves(**kwargs)
    assert await we_resolve(**kwargs) == ("us-east-1", "http://127.0.0.1:4566")


def test_a_malformed_region_argument_is_refused_at_construction() -> None:
    with pytest.raises(ValidationError, match="region 'eu west 1'"):
        SQSConnection("AKIDEXAMPLE", "secret", region="eu west 1")


async def test_a_malformed_region_in_the_config_file_is_refused_at_open(config_file: Path) -> None:
    write(config_file, "[default]\nregion = eu west 1\n")
    with pytest.raises(BotoCoreError):
        botocore_resolves()
    with pytest.raises(ValidationError):
        await we_resolve()


async def test_an_unknown_profile_is_an_auth_error(config_file: Path) -> None:
    write(config_file, PROFILES)
    with pytest.raises(AuthError, match="nope"):
        await we_resolve(profile="nope", region="eu-west-1")


# -- configured endpoints ------------------------------------------------------------------

ENDPOINTS = """\
[default]
region = eu-west-1
endpoint_url = http://127.0.0.1:1001/global
[profile svc]
region = eu-west-1
services = local
endpoint_url = http://127.0.0.1:1002/profile-global
[services local]
sqs =
  endpoint_url = http://127.0.0.1:1003/svc/../x?a=%41&b=1
[profile ignoring]
region = eu-west-1
endpoint_url = http://127.0.0.1:1004/
ignore_configured_endpoint_urls = true
"""


@pytest.mark.parametrize(
    "case",
    [
        ({}, {}, "http://127.0.0.1:1001/global"),
        ({}, {"profile": "svc"}, "http://127.0.0.1:1003/svc/../x?a=%41&b=1"),
        ({"AWS_PROFILE": "svc"}, {}, "http://127.0.0.1:1003/svc/../x?a=%41&b=1"),
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:1005"},
            {"profile": "svc"},
            "http://127.0.0.1:1005",
        ),
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:1005", "AWS_ENDPOINT_URL_SQS": "http://[::1]:6"},
            {},
            "http://[::1]:6",
        ),
        ({}, {"profile": "ignoring"}, "https://sqs.eu-west-1.amazonaws.com"),
        (
            {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL_SQS": "http://h:1"},
            {"profile": "svc"},
            "https://sqs.eu-west-1.amazonaws.com",
        ),
        (
            {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
            {"endpoint_url": "http://127.0.0.1:9/given?x=1"},
            "http://127.0.0.1:9/given?x=1",
        ),
        (
            {"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:1005"},
            {"endpoint_url": "http://127.0.0.1:9"},
            "http://127.0.0.1:9",
        ),
    ],
)
async def test_configured_endpoints_are_botocores(
    monkeypatch: pytest.MonkeyPatch, config_file: Path, case: tuple[Any, Any, str]
) -> None:
    env, kwargs, expected = case  # the environment, the arguments, the endpoint
    region, url = await resolved_from(monkeypatch, config_file, ENDPOINTS, env, kwargs)
    assert (region, url) == ("eu-west-1", expected)


async def test_a_missing_services_section_is_an_auth_error(config_file: Path) -> None:
    write(config_file, "[default]\nregion = eu-west-1\nservices = nowhere\n")
    with pytest.raises(BotoCoreError):
        botocore_resolves()
    with pytest.raises(AuthError, match="nowhere"):
        await we_resolve()


# -- partitions, FIPS, dual-stack --------------------------------------------------------------

REGIONS = [
    "us-east-1",
    "eu-west-1",
    "cn-north-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-isob-east-1",
    "eusc-de-east-1",
]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("fips", [False, True])
@pytest.mark.parametrize("dualstack", [False, True])
@pytest.mark.parametrize("where", ["environment", "config file"])
async def test_partitions_fips_and_dualstack_are_botocores(
    monkeypatch: pytest.MonkeyPatch,
    config_file: Path,
    region: str,
    fips: bool,
    dualstack: bool,
    where: str,
) -> None:
    if where == "environment":
        monkeypatch.setenv("AWS_DEFAULT_REGION", region)
        monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", str(fips).lower())
        monkeypatch.setenv("AWS_USE_DUALSTACK_ENDPOINT", str(dualstack).lower())
    else:
        write(
            config_file,
            f"[default]\nregion = {region}\nuse_fips_endpoint = {str(fips).lower()}\n"
            f"use_dualstack_endpoint = {str(dualstack).lower()}\n",
        )
    _, url = await assert_as_botocore()
    host = urlsplit(url).hostname or ""
    gov_single_stack = region == "us-gov-west-1" and not dualstack  # already FIPS
    assert ("fips" in host) == (fips and not gov_single_stack)
    assert host.endswith((".amazonaws.com", ".api.aws")) == (
        region in ("us-east-1", "eu-west-1", "us-gov-west-1")
    )


@pytest.mark.parametrize(
    ("region", "suffix"),
    [
        ("cn-north-1", ".amazonaws.com.cn"),
        ("us-iso-east-1", ".c2s.ic.gov"),
        ("us-isob-east-1", ".sc2s.sgov.gov"),
        ("eusc-de-east-1", ".amazonaws.eu"),
        ("us-gov-west-1", ".amazonaws.com"),
    ],
)
async def test_partition_hosts(region: str, suffix: str) -> None:
    assert await we_resolve(region=region) == (region, f"https://sqs.{region}{suffix}")


async def test_a_variant_the_partition_lacks_is_a_validation_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_USE_DUALSTACK_ENDPOINT", "true")
    with pytest.raises(BotoCoreError):
        botocore_resolves(region="us-isof-south-1")
    with pytest.raises(ValidationError, match="us-isof-south-1"):
        await we_resolve(region="us-isof-south-1")


async def test_fips_does_not_change_a_given_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    await assert_as_botocore(region="eu-west-1", endpoint_url="http://127.0.0.1:9/p")


# -- the CA bundle ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "/etc/pki/from-config.pem"), ({"AWS_CA_BUNDLE": "/env.pem"}, "/env.pem")],
)
def test_ca_bundle_is_botocores(
    monkeypatch: pytest.MonkeyPatch, config_file: Path, env: dict[str, str], expected: str
) -> None:
    write(config_file, "[default]\nregion = eu-west-1\nca_bundle = /etc/pki/from-config.pem\n")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert botocore.session.Session().get_config_variable("ca_bundle") == expected
    assert resolve_settings(None, None, None) == Settings(
        "eu-west-1", "https://sqs.eu-west-1.amazonaws.com", expected
    )
    given = resolve_settings("eu-west-1", "http://127.0.0.1:9", None)
    assert given.ca_bundle == expected


async def test_the_connection_keeps_what_it_resolved(config_file: Path) -> None:
    write(config_file, "[default]\nregion = eu-west-1\nca_bundle = /ca.pem\n")
    async with SQSConnection("AKIDEXAMPLE", "secret", transport=MockTransport(_ok)) as conn:
        assert conn._settings == Settings(
            "eu-west-1", "https://sqs.eu-west-1.amazonaws.com", "/ca.pem"
        )
        assert conn.endpoint_url == "https://sqs.eu-west-1.amazonaws.com"


# -- no botocore when it has nothing to add ---------------------------------------------------


@contextlib.contextmanager
def botocore_forbidden(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def fail(*args: Any) -> Settings:
        raise AssertionError("botocore was consulted")

    with monkeypatch.context() as patch:
        patch.setattr(settings_module, "_with_botocore", fail)
        yield


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"AWS_CA_BUNDLE": "/env.pem"},
        {"AWS_DEFAULT_REGION": "ca-central-1"},
        {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
        {"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:1005", "AWS_REGION": "eu-west-3"},
    ],
)
def test_the_shortcut_answers_what_botocore_answers(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    # tests/conftest.py points both shared files at paths that do not exist
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for region in ("sa-east-1", None):
        if region is None and "AWS_DEFAULT_REGION" not in env:
            continue
        with botocore_forbidden(monkeypatch):
            fast = resolve_settings(region, "http://127.0.0.1:9/p?q=1", None)
        assert fast == settings_module._with_botocore(region, "http://127.0.0.1:9/p?q=1", None)


def test_the_shortcut_steps_aside_for_files_and_profiles(
    monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    write(config_file, "[default]\nca_bundle = /from-config.pem\n")
    with botocore_forbidden(monkeypatch), pytest.raises(AssertionError, match="consulted"):
        resolve_settings("eu-west-1", "http://127.0.0.1:9", None)
    assert resolve_settings("eu-west-1", "http://127.0.0.1:9", None).ca_bundle == (
        "/from-config.pem"
    )
    config_file.unlink()
    monkeypatch.setenv("AWS_PROFILE", "work")
    with botocore_forbidden(monkeypatch), pytest.raises(AssertionError, match="consulted"):
        resolve_settings("eu-west-1", "http://127.0.0.1:9", None)


# -- the endpoint on the wire: as written, and signed as botocore signs it -------------------


class _Recorder:
    """A loopback HTTP server that records each request's head and body, answers ``{}``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *lines = head.split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines if line)
        length = int(next(v for k, v in headers.items() if k.lower() == "content-length"))
        body = await reader.readexactly(length)
        self.requests.append((request_line, headers, body))
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        await writer.drain()
        writer.close()


def botocore_authorization(url: str, headers: dict[str, str], body: bytes) -> str:
    """botocore's Authorization for the same request, at the same second."""
    lowered = {k.lower(): v for k, v in headers.items()}
    signed = lowered["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    request = AWSRequest(
        method="POST",
        url=url,
        headers={name: lowered[name] for name in signed if name not in ("host", "x-amz-date")},
        data=body,
    )
    when = dt.datetime.strptime(lowered["x-amz-date"], "%Y%m%dT%H%M%SZ")
    credentials = botocore.credentials.Credentials("AKIDEXAMPLE", "secret")
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        botocore.auth.SigV4Auth(credentials, "sqs", "eu-west-1").add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize("transport", ["http11", "aiohttp"])
@pytest.mark.parametrize(
    "target", ["/p/a%2Fb/../c?x=1&y=%41&flag", "/vpce/?b=2&a=1", "/", "/x//y/./z"]
)
async def test_the_endpoint_path_and_query_go_out_as_written(
    monkeypatch: pytest.MonkeyPatch, transport: str, target: str
) -> None:
    recorder = _Recorder()
    async with recorder as port:
        url = f"http://127.0.0.1:{port}{target}"
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", url)  # configured, so resolved at open
        async with SQSConnection(
            "AKIDEXAMPLE",
            "secret",
            region="eu-west-1",
            transport=transport,  # type: ignore[arg-type]
        ) as conn:
            await conn.list_queues()
            assert conn.endpoint_url == url
    ((request_line, headers, body),) = recorder.requests
    assert request_line == f"POST {target} HTTP/1.1"
    assert headers["Host"] == f"127.0.0.1:{port}"
    assert headers["Authorization"] == botocore_authorization(url, headers, body)


@pytest.mark.parametrize(
    "endpoint",
    [
        "not a url",
        "ftp://127.0.0.1/",
        "http://[::1",
        "http://127.0.0.1:99999",
        "http://127.0.0.1/a b",
        "http://127.0.0.1/\r\nX-Injected: 1",
        "http://bücher.example/",
        "http://user:hunter2@/nohost",
    ],
)
async def test_a_bad_endpoint_is_a_validation_error_before_any_io(endpoint: str) -> None:
    mock = MockTransport(_ok)
    conn = SQSConnection(
        "AKIDEXAMPLE", "secret", region="eu-west-1", endpoint_url=endpoint, transport=mock
    )
    with pytest.raises(ValidationError, match="is not an http") as info:
        await conn.list_queues()
    assert "hunter2" not in str(info.value)
    assert mock.calls == []
    await conn.close()
