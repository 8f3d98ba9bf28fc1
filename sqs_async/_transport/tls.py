"""TLS settings shared by both transports: which CAs to trust, which client certificate to show.

Layer: part of ``_transport``; reads files only inside :func:`ssl_context`, which the
transports run in a worker thread (loading a CA store reads files).
"""

from __future__ import annotations

import os
import ssl

from ..errors import ConnectError
from .base import describe

__all__ = ["ClientCert", "resolve_verify", "ssl_context"]

ClientCert = str | tuple[str, str]
"""A PEM file with the certificate and its key, or ``(certificate file, key file)``."""


def resolve_verify(verify: bool | str | None, ca_bundle: str | None = None) -> bool | str:
    """What to verify servers against, as botocore decides it.

    Args:
        verify: The ``verify=`` argument: ``False`` (no verification), ``True`` (the
            default CAs), a CA bundle path, or ``None`` (not given).
        ca_bundle: The ``ca_bundle`` of the AWS config file's profile, if any.

    Returns:
        ``verify`` when given; else ``AWS_CA_BUNDLE``; else ``ca_bundle``; else ``True``
        (the system's CA store).
    """
    if verify is not None:
        return verify
    return os.environ.get("AWS_CA_BUNDLE") or ca_bundle or True


def ssl_context(
    verify: bool | str, client_cert: ClientCert | None = None, *, what: str = "the server"
) -> ssl.SSLContext:
    """A client-side TLS context (reads files: call it off the event loop).

    Raises:
        ConnectError: The CA bundle or the client certificate cannot be loaded.
    """
    cafile = verify if isinstance(verify, str) else None
    try:
        if cafile is not None and os.path.isdir(cafile):  # a c_rehash'ed directory
            context = ssl.create_default_context(capath=cafile)
        else:
            context = ssl.create_default_context(cafile=cafile)
    except (OSError, ValueError, ssl.SSLError) as exc:
        raise ConnectError(
            f"cannot load the CA bundle {cafile!r} to verify {what} "
            f"(verify=, AWS_CA_BUNDLE or the config file's ca_bundle): {describe(exc)}"
        ) from exc
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert is not None:
        certfile, keyfile = (client_cert, None) if isinstance(client_cert, str) else client_cert
        try:
            context.load_cert_chain(certfile, keyfile)
        except (OSError, ValueError, ssl.SSLError) as exc:
            raise ConnectError(
                f"cannot load the client certificate {certfile!r}: {describe(exc)}"
            ) from exc
    return context
