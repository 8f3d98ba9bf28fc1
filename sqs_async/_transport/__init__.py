"""_transport: moving request bytes to the service and response bytes back.

``base`` defines the :class:`Transport` protocol; ``aiohttp_transport`` is the real one (it
owns the connection pools and maps aiohttp's exceptions in one place); ``mock`` is a
scriptable fake for unit tests. Depends only on ``_config`` and ``errors``.
"""

from .base import Response, Transport

__all__ = ["Response", "Transport"]
