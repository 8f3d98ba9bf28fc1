"""Which forward proxy a request goes through, decided once per endpoint as botocore does.

Layer: part of ``_transport``; pure apart from reading the environment. Both transports
ask :meth:`Proxies.for_url` once per endpoint URL and cache the answer, so a request to an
endpoint that no proxy applies to costs nothing more than before.

* ``proxies=`` given (botocore's format, ``{"https": "http://proxy:3128"}``, scheme → proxy
  URL): the proxy for the endpoint's scheme, if any; ``NO_PROXY`` is not consulted, as in
  botocore.
* not given: ``HTTPS_PROXY``/``HTTP_PROXY`` (the lowercase forms win, as in urllib, requests
  and botocore) unless ``NO_PROXY``/``no_proxy`` matches the endpoint's host.

A proxy URL without a scheme means ``http://``. Credentials in it (``http://user:pass@host``,
percent-encoded) become a ``Proxy-Authorization: Basic`` header, sent on the ``CONNECT`` (an
https endpoint) or on each request (an http one, in absolute form); they never appear in a
message or a ``repr``.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

import yarl

from ..errors import ValidationError
from .base import check_url

__all__ = ["Proxies", "Proxy", "proxy_refused"]


@dataclass(frozen=True, slots=True)
class Proxy:
    """One forward proxy.

    Attributes:
        url: The proxy's URL without credentials (fine to show).
        tls: Whether the proxy itself is reached over TLS (an ``https://`` proxy).
        host: The proxy's host.
        port: The proxy's port.
        authorization: The ``Proxy-Authorization`` header value, or ``None``.
        raw_url: The URL as given, credentials included (never shown).
    """

    url: str
    tls: bool
    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)
    raw_url: str = field(default="", repr=False)

    @classmethod
    def parse(cls, text: str) -> Proxy:
        """Parse a proxy URL (``http://[user:password@]host[:port]``).

        Raises:
            ValidationError: Not an http(s) URL with a host.
        """
        if not isinstance(text, str):
            raise ValidationError(f"a proxy must be a URL string, not {type(text).__name__}")
        scheme = text.partition("://")[0] if "://" in text else ""
        if scheme and scheme not in ("http", "https"):
            raise ValidationError(f"proxy scheme {scheme!r} is not supported (http or https)")
        if not text.startswith(("http:", "https:")):  # botocore's _fix_proxy_url
            text = "http:" + text if text.startswith("//") else "http://" + text
        parsed = check_url(text, "proxy")
        authorization = None
        if parsed.user and parsed.password:  # both, as botocore requires
            token = base64.b64encode(f"{parsed.user}:{parsed.password}".encode()).decode()
            authorization = f"Basic {token}"
        host = parsed.raw_host or ""
        port = parsed.port or 0
        shown = f"[{host}]" if ":" in host else host
        return cls(
            f"{parsed.scheme}://{shown}:{port}",
            parsed.scheme == "https",
            host,
            port,
            authorization=authorization,
            raw_url=str(parsed),
        )


def _from_environment() -> dict[str, str]:
    """``http``/``https`` proxies as urllib (and so botocore) reads them."""
    if sys.platform not in ("darwin", "win32") and not any(
        name[-6:].lower() == "_proxy" for name in os.environ
    ):
        return {}  # nothing to read (and urllib.request costs ~10 ms to import)
    import urllib.request

    found = urllib.request.getproxies()
    return {scheme: url for scheme, url in found.items() if scheme in ("http", "https")}


class Proxies:
    """The proxy settings of one client.

    Args:
        proxies: scheme → proxy URL (botocore's ``proxies``), or ``None`` to read the
            environment (when this object is made: at connect time).

    Raises:
        ValidationError: A proxy URL is malformed.
    """

    __slots__ = ("_by_scheme", "_bypass")

    def __init__(self, proxies: Mapping[str, str] | None = None) -> None:
        from_env = proxies is None
        if proxies is None:
            proxies = _from_environment()
        self._by_scheme = {scheme: Proxy.parse(url) for scheme, url in proxies.items()}
        self._bypass = from_env

    def __bool__(self) -> bool:
        return bool(self._by_scheme)

    def for_url(self, url: yarl.URL) -> Proxy | None:
        """The proxy for requests to ``url``, or ``None`` to connect directly."""
        proxy = self._by_scheme.get(url.scheme)
        if proxy is None:
            return None
        if self._bypass:
            host = url.raw_host or ""
            netloc = f"[{host}]" if ":" in host else host
            if url.explicit_port is not None:
                netloc = f"{netloc}:{url.explicit_port}"
            import urllib.request

            try:
                if urllib.request.proxy_bypass(netloc):
                    return None
            except (TypeError, OSError):  # as botocore: a broken bypass list means no bypass
                pass
        return proxy


def proxy_refused(proxy: Proxy) -> str:
    """The message for a proxy's 407 (on a request or a ``CONNECT``)."""
    given = (
        "the credentials in the proxy URL were refused"
        if proxy.authorization
        else ("the proxy URL has no credentials (http://user:password@host:port)")
    )
    return f"the proxy {proxy.url} answered 407 Proxy Authentication Required: {given}"
