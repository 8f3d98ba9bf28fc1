"""AWS credentials, resolved without blocking the event loop.

Layer: ``_signing`` depends only on ``_config`` and ``errors`` (and botocore, whose credential
chain does the real work: shared files, SSO, assume-role, container and instance metadata).

Everything that may block (creating a botocore session, reading its files, calling STS or
the metadata service, refreshing expiring credentials) runs in a worker thread through
``asyncio.to_thread``. Expiring credentials are refreshed the way botocore does it, with
two windows before expiry: in the *advisory* window one background refresh starts and
callers keep the current credentials; in the *mandatory* window callers wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # botocore is imported only when its chain is needed (~0.2 s of import)
    from botocore.credentials import Credentials as BotoCredentials

from sqs_async.errors import AuthError, ClientClosedError

__all__ = ["CredentialProvider", "Credentials"]

logger = logging.getLogger(__name__)

# botocore's own windows (botocore/credentials.py): refreshing inside them is left to its
# RefreshableCredentials, so ours must not start earlier than its advisory window.
ADVISORY_REFRESH_SECONDS: Final = 15 * 60
MANDATORY_REFRESH_SECONDS: Final = 10 * 60
# After a refresh that left the credentials still due (a failed advisory refresh keeps the
# old ones; some sources hand out short-lived ones), wait this long before trying again,
# so that a struggling metadata service is not called on every request.
_RETRY_SECONDS: Final = 30.0
# Never sign with credentials that expire sooner than this.
_MIN_REMAINING_SECONDS: Final = 60.0
# When a refreshable source hides its expiry time, ask it again this often.
_UNKNOWN_EXPIRY_RECHECK_SECONDS: Final = 60.0

_NO_CREDENTIALS: Final = (
    "no AWS credentials found: pass keys, set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or configure a profile (shared credentials/config file, SSO, role, container or "
    "instance metadata)"
)

# The clock the refresh windows are measured with (tests replace it).
_now = time.time


@dataclass(frozen=True, slots=True)
class Credentials:
    """One immutable set of AWS credentials.

    Attributes:
        access_key: The access key id.
        secret_key: The secret access key (never shown in ``repr``).
        token: The session token of temporary credentials (never shown in ``repr``).
    """

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        key = self.access_key
        shown = f"{key[:4]}...{key[-4:]}" if len(key) > 12 else "***"
        token = ", token=***" if self.token is not None else ""
        return f"Credentials(access_key={shown!r}{token})"


def _from_env() -> Credentials | None:
    """Credentials from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, if both are set."""
    access_key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret_key or os.environ.get("AWS_CREDENTIAL_EXPIRATION"):
        # Partial or expiring env credentials are botocore's to handle (it reports the
        # former and re-reads the environment for the latter).
        return None
    token = os.environ.get("AWS_SESSION_TOKEN") or os.environ.get("AWS_SECURITY_TOKEN")
    return Credentials(access_key, secret_key, token or None)


def _snapshot(source: BotoCredentials) -> tuple[Credentials, float]:
    """Freeze botocore credentials, refreshing them first if due. Blocks: call in a thread.

    Returns:
        The credentials and when they expire (unix time; ``inf`` when they never do).
    """
    frozen = source.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        raise AuthError(f"incomplete AWS credentials from {source.method!r}")
    credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token or None)
    if not _is_refreshable(source):
        return credentials, math.inf
    # botocore keeps the expiry private (refresh_needed() only answers yes or no). Should it
    # ever be missing, look again soon: a background get_frozen_credentials() then lets
    # botocore refresh by its own clock, and we never sign with stale credentials for long.
    expiry = getattr(source, "_expiry_time", None)
    from datetime import datetime  # botocore has loaded it by now (start-up: issue 13)

    if not isinstance(expiry, datetime):
        return credentials, _now() + ADVISORY_REFRESH_SECONDS + _UNKNOWN_EXPIRY_RECHECK_SECONDS
    return credentials, expiry.timestamp()


def _is_refreshable(source: BotoCredentials) -> bool:
    # botocore is loaded by now: ``source`` came from its credential chain.
    from botocore.credentials import RefreshableCredentials

    return isinstance(source, RefreshableCredentials)


def _resolve_chain(profile: str | None) -> tuple[BotoCredentials, Credentials, float]:
    """Run botocore's credential chain. Blocks: call in a thread.

    Raises:
        AuthError: No credentials were found, or the chain failed.
    """
    import botocore.session  # heavy: imported here, off the event loop
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        source = botocore.session.Session(profile=profile).get_credentials()
        if source is not None:
            return (source, *_snapshot(source))
    except (BotoCoreError, ClientError) as exc:
        raise AuthError(f"could not load AWS credentials: {exc}") from exc
    raise AuthError(_NO_CREDENTIALS)


def _refresh(source: BotoCredentials) -> tuple[BotoCredentials, Credentials, float]:
    """Refresh (if due by botocore's clock) and freeze. Blocks: call in a thread.

    Raises:
        AuthError: A refresh inside the mandatory window failed.
    """
    try:
        return (source, *_snapshot(source))
    except AuthError:
        raise
    except Exception as exc:
        # The refresh callback may raise anything (botocore re-raises it as is).
        raise AuthError(f"refreshing AWS credentials failed: {exc}") from exc


class CredentialProvider:
    """Resolves the credentials to sign with, and keeps expiring ones fresh.

    Order: explicit keys, then the ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``
    (/``AWS_SESSION_TOKEN``) environment variables, then botocore's whole chain (shared
    credentials and config files, SSO, assume-role, container, instance metadata). As in
    botocore, an explicit ``profile`` takes precedence over the environment variables.

    Args:
        access_key: An explicit access key id (needs ``secret_key``).
        secret_key: An explicit secret access key (needs ``access_key``).
        token: A session token to go with explicit keys.
        profile: The shared-config profile to use instead of the default one.

    Raises:
        ValueError: Only one of ``access_key`` and ``secret_key`` was given, or ``token``
            without them.
    """

    def __init__(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        token: str | None = None,
        profile: str | None = None,
    ) -> None:
        if (access_key is None) != (secret_key is None):
            raise ValueError("pass both the access key and the secret key, or neither")
        if access_key is None and token is not None:
            raise ValueError("a session token needs an access key and a secret key")
        if access_key == "" or secret_key == "":
            raise ValueError("the access key and the secret key must not be empty")
        self._profile = profile
        self._current: Credentials | None = None
        if access_key is not None and secret_key is not None:
            self._current = Credentials(access_key, secret_key, token or None)
        # get() hands out _current without a second look until _advisory_at (unix time).
        self._advisory_at = math.inf
        self._mandatory_at = math.inf
        self._source: BotoCredentials | None = None
        self._task: asyncio.Task[Credentials] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<CredentialProvider profile={self._profile!r} current={self._current!r}>"

    def current(self) -> Credentials | None:
        """The credentials to sign with now, if no resolution or refresh is due (else None:
        await :meth:`get`). Saves the hot path a coroutine."""
        if _now() < self._advisory_at:
            return self._current
        return None

    async def get(self) -> Credentials:
        """Return the credentials to sign with now.

        Returns:
            The current credentials: resolved on the first call, refreshed when they are
            about to expire.

        Raises:
            AuthError: No credentials were found, or expiring ones could not be refreshed.
            ClientClosedError: The provider was closed.
        """
        current = self._current
        if current is not None and _now() < self._advisory_at:
            return current
        return await self._get_slow()

    async def _get_slow(self) -> Credentials:
        if self._closed:
            raise ClientClosedError("the credential provider is closed")
        current = self._current
        if current is None:
            env = _from_env() if self._profile is None else None
            if env is not None:
                self._current = env
                return env
            return await self._wait(self._start())
        if _now() < self._mandatory_at:
            # Advisory window: refresh in the background, sign with what we have.
            self._start()
            return current
        return await self._wait(self._start())

    async def _wait(self, task: asyncio.Task[Credentials]) -> Credentials:
        """Wait for a shared resolution or refresh; cancelling one waiter leaves it running."""
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            waiter = asyncio.current_task()
            # aclose() cancelled the shared task, not our caller: say so.
            if self._closed and task.cancelled() and waiter and not waiter.cancelling():
                raise ClientClosedError("the credential provider is closed") from None
            raise

    def _start(self) -> asyncio.Task[Credentials]:
        """Return the resolution or refresh in progress, starting one if there is none."""
        task = self._task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.create_task(self._update(), name="sqs_async credentials refresh")
            task.add_done_callback(self._update_done)
            self._task = task
        return task

    async def _update(self) -> Credentials:
        if self._source is None:
            result = await asyncio.to_thread(_resolve_chain, self._profile)
        else:
            result = await asyncio.to_thread(_refresh, self._source)
        self._install(*result)
        return result[1]

    def _update_done(self, task: asyncio.Task[Credentials]) -> None:
        if self._task is task:
            self._task = None
        if task.cancelled() or task.exception() is None:
            return
        # Retrieved here, so that a failed background refresh that nobody awaited is not
        # reported as "never retrieved". Callers in the mandatory window try again on their
        # next get(); background attempts wait _RETRY_SECONDS.
        logger.debug("AWS credentials refresh failed", exc_info=task.exception())
        if self._current is not None and not self._closed:
            retry_at = max(self._advisory_at, _now() + _RETRY_SECONDS)
            self._advisory_at = min(retry_at, self._mandatory_at)

    def _install(
        self, source: BotoCredentials, credentials: Credentials, expires_at: float
    ) -> None:
        if self._closed:
            return
        now = _now()
        mandatory_at = max(
            expires_at - MANDATORY_REFRESH_SECONDS,
            min(now + _RETRY_SECONDS, expires_at - _MIN_REMAINING_SECONDS),
        )
        advisory_at = max(expires_at - ADVISORY_REFRESH_SECONDS, now + _RETRY_SECONDS)
        self._source = source if _is_refreshable(source) else None
        self._current = credentials
        self._mandatory_at = mandatory_at
        self._advisory_at = min(advisory_at, mandatory_at)

    async def aclose(self) -> None:
        """Stop any refresh in progress; later calls to :meth:`get` raise.

        Idempotent. A refresh already running in a worker thread finishes there, unseen.
        """
        self._closed = True
        self._advisory_at = -math.inf  # so that get() takes the slow path, which raises
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            await asyncio.wait({task})
