"""Where a connection sends its requests: region, endpoint and CA bundle, resolved as botocore does.

Layer: ``_signing`` (depends only on ``_config`` and ``errors``; botocore is imported lazily,
in a worker thread, as for the credentials).

:func:`resolve_settings` runs once, when a connection opens, never per request. It asks
botocore's own machinery for every answer it has one for, so that a connection goes where
a botocore client made from the same files and environment would go:

* region: ``region=``, else botocore's ``region`` setting (``AWS_DEFAULT_REGION``, then the
  profile's ``region`` in the shared config file). botocore itself never reads
  ``AWS_REGION``; other AWS SDKs do, so it is taken as a last resort, where botocore would
  have raised :class:`~botocore.exceptions.NoRegionError`;
* endpoint: ``endpoint_url=``, else the *configured* endpoint (``AWS_ENDPOINT_URL_SQS``,
  ``AWS_ENDPOINT_URL``, the ``services`` section or the profile's ``endpoint_url``, unless
  ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` / ``ignore_configured_endpoint_urls`` is set),
  else the endpoint of botocore's SQS endpoint rules for the region, with
  ``use_fips_endpoint`` and ``use_dualstack_endpoint`` applied (every partition: ``aws``,
  ``aws-cn``, ``aws-us-gov``, ``aws-iso*``, ``aws-eusc``...). A given or configured endpoint
  is used exactly as written: path and query included, nothing normalised;
* CA bundle: botocore's ``ca_bundle`` setting (``AWS_CA_BUNDLE``, then the config file).

No region anywhere raises :class:`~sqs_async.errors.NoRegionError`, as botocore does. One
deliberate difference: with an endpoint (given or configured) but no region, botocore
refuses too; here the requests are signed for ``us-east-1``, which every local
SQS-compatible server (moto, LocalStack, ElasticMQ) accepts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from sqs_async._config import DEFAULT_REGION
from sqs_async.errors import AuthError, NoRegionError, ValidationError

if TYPE_CHECKING:  # botocore is imported only in the worker thread that needs it
    from botocore.session import Session

__all__ = ["Settings", "check_region", "region_nowait", "resolve_settings"]

# botocore.utils.validate_region_name: one DNS label.
_REGION: Final = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$")
# botocore's defaults for the two shared files (session variables config_file and
# credentials_file).
_SHARED_FILES: Final = (
    ("AWS_CONFIG_FILE", "~/.aws/config"),
    ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
)
_NO_REGION: Final = (
    "no AWS region configured: pass region=, set AWS_DEFAULT_REGION (or AWS_REGION), or "
    "set region in the profile of the AWS config file"
)


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved settings of one connection.

    Attributes:
        region: The region requests are signed for.
        endpoint_url: The URL requests are sent to, exactly as given or configured (path and
            query kept), or the endpoint botocore's rules give for the region.
        ca_bundle: The CA bundle to verify HTTPS with (``AWS_CA_BUNDLE`` or the config
            file's ``ca_bundle``), or ``None`` for the system's CA store.
    """

    region: str
    endpoint_url: str
    ca_bundle: str | None = None


def check_region(region: str) -> None:
    """Refuse a region name botocore would refuse (it must be one DNS label).

    Raises:
        ValidationError: ``region`` is not a valid region name.
    """
    if not _REGION.match(region):
        raise ValidationError(f"region {region!r} is not a valid AWS region name")


def region_nowait(explicit: str | None) -> str | None:
    """The region when it is known without reading a file (``region=``, ``AWS_DEFAULT_REGION``)."""
    return explicit or os.environ.get("AWS_DEFAULT_REGION") or None


def resolve_settings(region: str | None, endpoint_url: str | None, profile: str | None) -> Settings:
    """Resolve the region, endpoint and CA bundle of a connection. Blocks: call in a thread.

    Args:
        region: The region the caller passed, if any.
        endpoint_url: The endpoint the caller passed, if any.
        profile: The shared-config profile to use, or None for ``AWS_PROFILE``/the default.

    Raises:
        NoRegionError: Neither a region nor an endpoint is configured anywhere.
        ValidationError: The region is not a valid name, or botocore's endpoint rules have
            no endpoint for these settings (e.g. dual-stack in a partition without it).
        AuthError: The profile does not exist, or the config file cannot be parsed.
    """
    settings = _without_files(region, endpoint_url, profile)
    if settings is None:
        settings = _with_botocore(region, endpoint_url, profile)
    check_region(settings.region)
    return settings


def _without_files(
    region: str | None, endpoint_url: str | None, profile: str | None
) -> Settings | None:
    """The settings when botocore has nothing to add, else None (then botocore decides).

    That is when the caller gave the endpoint, the region is known from the argument or
    the environment, no profile is named and neither shared file exists: botocore would
    then answer with the same endpoint and region, and ``AWS_CA_BUNDLE``. Saves importing
    botocore (~0.2 s) for local servers and tests.
    """
    region = region_nowait(region)
    if endpoint_url is None or region is None:
        return None
    if profile or os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE"):
        return None
    for variable, default in _SHARED_FILES:
        if os.path.exists(os.path.expanduser(os.environ.get(variable) or default)):
            return None
    return Settings(region, endpoint_url, os.environ.get("AWS_CA_BUNDLE") or None)


def _with_botocore(region: str | None, endpoint_url: str | None, profile: str | None) -> Settings:
    import botocore.session  # heavy: imported here, off the event loop
    from botocore.exceptions import (
        BotoCoreError,
        ConfigParseError,
        InvalidConfigError,
        ProfileNotFound,
    )

    try:
        session = botocore.session.Session(profile=profile)
        region = (
            region or session.get_config_variable("region") or os.environ.get("AWS_REGION") or None
        )
        endpoint_url = endpoint_url or _configured_endpoint(session)
        ca_bundle = session.get_config_variable("ca_bundle") or None
        if region is None:
            if endpoint_url is None:
                raise NoRegionError(_NO_REGION)
            region = DEFAULT_REGION
        if endpoint_url is None:
            endpoint_url = _modeled_endpoint(session, region)
    except (ProfileNotFound, ConfigParseError, InvalidConfigError) as exc:
        raise AuthError(f"could not read the AWS config: {exc}") from exc
    except BotoCoreError as exc:
        raise ValidationError(f"no SQS endpoint for region {region!r}: {exc}") from exc
    return Settings(region, endpoint_url, ca_bundle)


def _configured_endpoint(session: Session) -> str | None:
    """The endpoint configured for SQS, unless configured endpoints are to be ignored.

    The same two steps as botocore's ``ClientArgsCreator._compute_configured_endpoint_url``.
    """
    from botocore.configprovider import ConfiguredEndpointProvider

    if session.get_config_variable("ignore_configured_endpoint_urls"):
        return None
    provider = ConfiguredEndpointProvider(
        full_config=session.full_config,
        scoped_config=session.get_scoped_config(),
        client_name="sqs",
    )
    found = provider.provide()
    return found if isinstance(found, str) and found else None


class _Captured(Exception):
    """Stops botocore's pipeline just before it would send: carries the request URL."""


def _modeled_endpoint(session: Session, region: str) -> str:
    """The endpoint botocore's SQS endpoint rules give for the region and the FIPS and
    dual-stack settings: the URL of a request that botocore builds but never sends."""
    from botocore import UNSIGNED
    from botocore.config import Config

    client = session.create_client(
        "sqs",
        region_name=region,
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    try:
        client.meta.events.register("before-send.sqs", _capture)
        url = _first_request_url(client)
    finally:
        client.close()
    parts = urlsplit(url)
    if parts.path == "/" and not parts.query:
        url = url[:-1]  # the operation's path, not the endpoint's (botocore's meta.endpoint_url)
    return url


def _capture(request: object, **_: object) -> None:
    raise _Captured(getattr(request, "url", ""))


def _first_request_url(client: Any) -> str:  # botocore-stubs type no operations
    try:
        client.list_queues()
    except _Captured as captured:
        return str(captured.args[0])
    raise RuntimeError("botocore sent a request it was told not to send")  # pragma: no cover
