"""Configuration: frozen dataclasses and the service limits.

Bottom layer: imports only ``errors``.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

from .errors import ValidationError

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_POLL_CONNECTIONS",
    "DEFAULT_REGION",
    "LONG_POLL_READ_MARGIN",
    "MAX_ATTRIBUTE_NAME_LENGTH",
    "MAX_BATCH_ENTRIES",
    "MAX_DELAY_SECONDS",
    "MAX_MESSAGE_ATTRIBUTES",
    "MAX_MESSAGE_BYTES",
    "MAX_RECEIVE_MESSAGES",
    "MAX_VISIBILITY_TIMEOUT",
    "MAX_WAIT_TIME_SECONDS",
    "MIN_MESSAGE_BYTES",
    "ClientConfig",
    "Limits",
    "RetryPolicy",
    "Timeouts",
    "seconds",
]

# Service limits (current AWS; botocore's sqs model and the SQS developer guide's quotas).
MAX_BATCH_ENTRIES = 10
MAX_MESSAGE_BYTES = 1_048_576  # 1 MiB since 2025; body + attributes, and a whole batch
MIN_MESSAGE_BYTES = 1_024  # smallest MaximumMessageSize a queue may have
MAX_RECEIVE_MESSAGES = 10
MAX_WAIT_TIME_SECONDS = 20
MAX_VISIBILITY_TIMEOUT = 43_200  # 12 hours
MAX_DELAY_SECONDS = 900
MAX_MESSAGE_ATTRIBUTES = 10
MAX_ATTRIBUTE_NAME_LENGTH = 256
MAX_QUEUE_NAME_LENGTH = 80
MAX_ID_LENGTH = 128  # group id, deduplication id, receive request attempt id
# Number message attributes: up to 38 significant digits, magnitude 10^-128 to 10^+126, or 0.
MAX_NUMBER_DIGITS = 38
MIN_NUMBER_EXPONENT = -128
MAX_NUMBER_EXPONENT = 126

DEFAULT_REGION = "us-east-1"
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_MAX_POLL_CONNECTIONS = 16
# A long poll's read timeout is its wait plus this margin (the botocore model asks for
# a read timeout above WaitTimeSeconds; aws-sdk-rust#1094 shows what happens without one).
LONG_POLL_READ_MARGIN = 10.0


def _is_timedelta(value: object) -> bool:
    # A timedelta exists only once ``datetime`` is imported: asking sys.modules spares
    # every process that never uses one the import (start-up time, issue 13).
    datetime = sys.modules.get("datetime")
    return datetime is not None and isinstance(value, datetime.timedelta)


def seconds(value: float | timedelta) -> float:
    """Normalise a duration given at the config edge to float seconds."""
    if _is_timedelta(value):
        return cast("timedelta", value).total_seconds()
    return float(cast(float, value))


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-attempt timeouts, in seconds.

    Attributes:
        connect: Opening a TCP (and TLS) connection.
        read: Waiting for a response to an ordinary call. A long poll always gets
            ``wait_time_seconds + LONG_POLL_READ_MARGIN`` when that is larger.
        pool: Waiting for a pooled connection to become free.
        total: An overall deadline for a whole call, every attempt and backoff included
            (``None``, the default: none, as in botocore). A long poll always gets at
            least ``wait_time_seconds + LONG_POLL_READ_MARGIN``. Expiry raises
            ``ReadTimeout`` and is not retried.
    """

    connect: float = 10.0
    read: float = 30.0
    pool: float = 60.0
    total: float | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.name == "total":
                continue
            if _is_timedelta(value):
                object.__setattr__(self, field.name, seconds(value))
                value = getattr(self, field.name)
            if not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"Timeouts.{field.name} must be a positive number of seconds")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed attempts are retried (like the AWS SDKs' retry modes).

    ``standard``: up to ``max_attempts`` attempts, capped exponential backoff with full
    jitter, and a retry quota that stops retry storms when the service is down.
    ``adaptive``: ``standard`` plus a client-side send rate that backs off on throttling.

    Attributes:
        mode: ``"standard"`` or ``"adaptive"``.
        max_attempts: Attempts in all, the first included (1 disables retries).
        base_delay: The first backoff's upper bound, in seconds.
        max_backoff: The cap on any one backoff, in seconds.
    """

    mode: Literal["standard", "adaptive"] = "standard"
    max_attempts: int = 3
    base_delay: float = 0.05
    max_backoff: float = 20.0

    def __post_init__(self) -> None:
        if self.mode not in ("standard", "adaptive"):
            raise ValueError(
                f"RetryPolicy.mode must be 'standard' or 'adaptive', not {self.mode!r}"
            )
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_backoff < 0:
            raise ValueError("RetryPolicy delays must not be negative")


@dataclass(frozen=True, slots=True)
class Limits:
    """Client-side limits checked before any I/O.

    Attributes:
        max_message_bytes: The largest message (body + attributes) and batch, in bytes.
            1 MiB on AWS; some compatible servers still cap at 256 KiB.
    """

    max_message_bytes: int = MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        if not MIN_MESSAGE_BYTES <= self.max_message_bytes <= MAX_MESSAGE_BYTES:
            raise ValueError(
                f"Limits.max_message_bytes must be between {MIN_MESSAGE_BYTES} "
                f"and {MAX_MESSAGE_BYTES}"
            )


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything tunable about a connection.

    Attributes:
        timeouts: Per-attempt timeouts.
        retry: The retry policy.
        limits: Client-side size limits.
        max_connections: Pooled connections for ordinary calls (sends, deletes, ...).
        max_poll_connections: Pooled connections for long polls, kept apart so that
            long polls never starve deletes and heartbeats (aiobotocore#451).
        verify_checksums: Verify MD5 of bodies and attributes; turn off on FIPS hosts.
        proxies: Forward proxies, botocore's format: scheme of the endpoint → proxy URL
            (``{"https": "http://user:pass@proxy:3128"}``). ``None``: ``HTTPS_PROXY``,
            ``HTTP_PROXY`` and ``NO_PROXY`` (or their lowercase forms) from the environment.
        proxies_config: botocore's ``proxies_config``; the key supported is
            ``proxy_ca_bundle``, the CA bundle to verify an ``https://`` proxy with.
        verify: How to verify the endpoint's TLS certificate: ``True`` (the default CAs),
            ``False`` (not at all), or the path of a CA bundle. ``None``: ``AWS_CA_BUNDLE``,
            else the config file's ``ca_bundle``, else the system's CA store.
        client_cert: A client certificate for mutual TLS: one PEM file holding the
            certificate and its key, or ``(certificate file, key file)``.
    """

    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy()
    limits: Limits = Limits()
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_poll_connections: int = DEFAULT_MAX_POLL_CONNECTIONS
    verify_checksums: bool = True
    proxies: Mapping[str, str] | None = None
    proxies_config: Mapping[str, str] | None = None
    verify: bool | str | None = None
    client_cert: str | tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.max_connections < 1 or self.max_poll_connections < 1:
            raise ValueError("max_connections and max_poll_connections must be at least 1")
        if self.proxies is not None and (
            not isinstance(self.proxies, Mapping)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in self.proxies.items())
        ):
            raise ValidationError("proxies must map URL schemes to proxy URLs (strings)")
        if self.proxies_config is not None and (
            not isinstance(self.proxies_config, Mapping)
            or set(self.proxies_config) - {"proxy_ca_bundle"}
            or not isinstance(self.proxies_config.get("proxy_ca_bundle", ""), str)
        ):
            raise ValidationError(
                "proxies_config supports one key, 'proxy_ca_bundle' (a CA bundle path)"
            )
        if self.verify is not None and not isinstance(self.verify, bool | str):
            raise ValidationError("verify must be True, False or the path of a CA bundle")
        cert = self.client_cert
        if cert is not None and not (
            isinstance(cert, str)
            or (
                isinstance(cert, tuple) and len(cert) == 2 and all(isinstance(c, str) for c in cert)
            )
        ):
            raise ValidationError(
                "client_cert must be a PEM file path or a (certificate, key) pair of paths"
            )
