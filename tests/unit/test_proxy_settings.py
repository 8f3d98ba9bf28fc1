"""Which proxy a request goes through (``_transport/proxy``): botocore's rules, no I/O."""

from __future__ import annotations

import base64

import pytest
import yarl

from sqs_async._transport.proxy import Proxies, Proxy
from sqs_async.errors import ValidationError

AWS = yarl.URL("https://sqs.eu-west-1.amazonaws.com/")
LOCAL = yarl.URL("http://127.0.0.1:4566/")


def test_no_proxy_variables_no_proxy() -> None:
    proxies = Proxies()
    assert not proxies
    assert proxies.for_url(AWS) is None


def test_the_environment_by_scheme_lowercase_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://upper.example:1")
    monkeypatch.setenv("https_proxy", "http://lower.example:2")
    monkeypatch.setenv("HTTP_PROXY", "plain.example:3128")  # no scheme: http://
    proxies = Proxies()
    chosen = proxies.for_url(AWS)
    assert chosen is not None
    assert (chosen.url, chosen.host, chosen.port) == ("http://lower.example:2", "lower.example", 2)
    got = proxies.for_url(LOCAL)
    assert got is not None
    assert got.url == "http://plain.example:3128"


@pytest.mark.parametrize(
    ("no_proxy", "bypassed"),
    [
        ("amazonaws.com", True),
        (".amazonaws.com", True),
        ("sqs.eu-west-1.amazonaws.com", True),
        ("*", True),
        ("example.com,  amazonaws.com ", True),
        ("example.com", False),
        ("sqs.eu-west-1.amazonaws.com:8443", False),
    ],
)
def test_no_proxy_matches_hosts_and_domains(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, bypassed: bool
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert (Proxies().for_url(AWS) is None) is bypassed


def test_explicit_proxies_ignore_the_environment_and_no_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env.example:1")
    monkeypatch.setenv("NO_PROXY", "*")
    proxies = Proxies({"https": "https://explicit.example:8443"})
    got = proxies.for_url(AWS)
    assert got is not None
    assert (got.url, got.tls) == ("https://explicit.example:8443", True)
    assert proxies.for_url(LOCAL) is None  # no "http" entry: direct


def test_credentials_become_a_basic_header_and_stay_hidden() -> None:
    proxy = Proxy.parse("http://us%40er:p%3Ass@proxy.example:3128")
    assert proxy.authorization == "Basic " + base64.b64encode(b"us@er:p:ss").decode()
    assert proxy.url == "http://proxy.example:3128"
    for text in (repr(proxy), str(proxy)):
        assert "p:ss" not in text
        assert "p%3Ass" not in text
    assert Proxy.parse("http://only-user@proxy.example:1").authorization is None  # as botocore


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://proxy:99999", "socks5://proxy:1080", "http://:3128"]
)
def test_a_malformed_proxy_is_a_validation_error_without_the_password(url: str) -> None:
    with pytest.raises(ValidationError, match="proxy"):
        Proxy.parse(url)
    with pytest.raises(ValidationError) as caught:
        Proxy.parse("http://user:hunter2@proxy:99999")
    assert "hunter2" not in str(caught.value)
