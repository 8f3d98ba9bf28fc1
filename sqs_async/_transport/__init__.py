"""_transport: moving request bytes to the service and response bytes back.

``base`` defines the :class:`Transport` protocol and what both transports share at their
edge (URL checks, head encoding, error text, the idle-input check). ``http11`` is the
default, a lean HTTP/1.1 client on asyncio protocols that owns the keep-alive pools
(``h11parse`` is its pure response parser); ``aiohttp_transport`` is the alternative on
aiohttp's ``ClientSession`` (``transport="aiohttp"``), imported only when chosen. Both take
their proxy from ``proxy`` and their TLS settings from ``tls``. ``mock`` is a scriptable
fake for unit tests. Depends only on ``_config`` and ``errors``.
"""

from .base import Response, Transport

__all__ = ["Response", "Transport"]
