"""CredentialProvider: the order of sources, secrecy, and refreshes that never block the
event loop. (The region is resolved with the endpoint: tests/unit/test_settings.py.)"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.credentials import (
    Credentials as BotoCredentials,
)
from botocore.credentials import (
    DeferredRefreshableCredentials,
    RefreshableCredentials,
)

from sqs_async._signing import credentials as credentials_module
from sqs_async._signing.credentials import CredentialProvider, Credentials
from sqs_async.errors import AuthError, ClientClosedError

WAIT = 5.0  # the deadline for anything a test waits on; never reached when all is well


@dataclass
class AwsFiles:
    config: Path
    credentials: Path


@pytest.fixture(autouse=True)
def aws_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AwsFiles:
    """No AWS_* variables from the machine, no metadata lookups, and config files of our own."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    files = AwsFiles(tmp_path / "config", tmp_path / "credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(files.config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(files.credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return files


@pytest.fixture
def profiles(aws_files: AwsFiles) -> AwsFiles:
    """A shared credentials file and a config file with a default and a ``work`` profile."""
    aws_files.credentials.write_text(
        "[default]\n"
        "aws_access_key_id = AKIADEFAULTEXAMPLE00\n"
        "aws_secret_access_key = default-secret\n"
        "[work]\n"
        "aws_access_key_id = ASIAWORKEXAMPLE00000\n"
        "aws_secret_access_key = work-secret\n"
        "aws_session_token = work-token\n"
    )
    aws_files.config.write_text(
        "[default]\nregion = eu-central-1\n[profile work]\nregion = ap-south-1\n"
    )
    return aws_files


@pytest.fixture
def no_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if botocore's credential chain is consulted."""

    def fail(profile: str | None) -> Any:
        raise AssertionError("botocore's chain should not be needed")

    monkeypatch.setattr(credentials_module, "_resolve_chain", fail)


DEFAULT = Credentials("AKIADEFAULTEXAMPLE00", "default-secret")
WORK = Credentials("ASIAWORKEXAMPLE00000", "work-secret", "work-token")


# -- where credentials come from -----------------------------------------------------------


async def test_explicit_keys_come_first(
    monkeypatch: pytest.MonkeyPatch, profiles: AwsFiles, no_chain: None
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    provider = CredentialProvider(access_key="AKIAEXPLICIT", secret_key="s", token="t")
    assert await provider.get() == Credentials("AKIAEXPLICIT", "s", "t")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"access_key": "AKIA"},
        {"secret_key": "secret"},
        {"token": "token"},
        {"access_key": "", "secret_key": "secret"},
    ],
)
def test_incomplete_explicit_keys_are_refused(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="key"):
        CredentialProvider(**kwargs)


async def test_environment_comes_next(
    monkeypatch: pytest.MonkeyPatch, profiles: AwsFiles, no_chain: None
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    provider = CredentialProvider()
    assert await provider.get() == Credentials("AKIAENVEXAMPLE000000", "env-secret", "env-token")


async def test_partial_environment_is_an_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000000")
    with pytest.raises(AuthError, match="could not load AWS credentials") as caught:
        await CredentialProvider().get()
    assert caught.value.__cause__ is not None


async def test_default_profile_from_the_shared_credentials_file(profiles: AwsFiles) -> None:
    assert await CredentialProvider().get() == DEFAULT


async def test_named_profile(profiles: AwsFiles) -> None:
    assert await CredentialProvider(profile="work").get() == WORK


async def test_aws_profile_variable_selects_the_profile(
    monkeypatch: pytest.MonkeyPatch, profiles: AwsFiles
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "work")
    assert await CredentialProvider().get() == WORK


async def test_explicit_profile_beats_environment_keys(
    monkeypatch: pytest.MonkeyPatch, profiles: AwsFiles
) -> None:
    # As in botocore and the AWS CLI: naming a profile means "use this profile".
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    assert await CredentialProvider(profile="work").get() == WORK


async def test_unknown_profile_is_an_auth_error(profiles: AwsFiles) -> None:
    with pytest.raises(AuthError, match="nope"):
        await CredentialProvider(profile="nope").get()


async def test_no_credentials_anywhere_is_an_auth_error() -> None:
    with pytest.raises(AuthError, match="no AWS credentials found") as caught:
        await CredentialProvider().get()
    assert "AWS_ACCESS_KEY_ID" in str(caught.value)


async def test_botocore_chain_runs_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, profiles: AwsFiles
) -> None:
    threads: list[int] = []
    real = botocore.session.Session.get_credentials

    def recording(self: botocore.session.Session) -> BotoCredentials | None:
        threads.append(threading.get_ident())
        return real(self)

    monkeypatch.setattr(botocore.session.Session, "get_credentials", recording)
    assert await CredentialProvider().get() == DEFAULT
    assert len(threads) == 1
    assert threads[0] != threading.get_ident()


async def test_resolved_once_then_cached(
    monkeypatch: pytest.MonkeyPatch, profiles: AwsFiles
) -> None:
    calls = 0
    real = credentials_module._resolve_chain

    def counting(profile: str | None) -> Any:
        nonlocal calls
        calls += 1
        return real(profile)

    monkeypatch.setattr(credentials_module, "_resolve_chain", counting)
    provider = CredentialProvider()
    results = await asyncio.gather(*(provider.get() for _ in range(20)))
    results += [await provider.get() for _ in range(20)]
    assert results == [DEFAULT] * 40
    assert calls == 1


# -- secrecy --------------------------------------------------------------------------------


async def test_repr_shows_neither_secret_nor_token() -> None:
    credentials = Credentials("ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG", "FwoGZXIvYXdzEBa")
    provider = CredentialProvider(
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        token=credentials.token,
    )
    await provider.get()
    for text in (repr(credentials), str(credentials), repr(provider), f"{[credentials]}"):
        assert "wJalrXUtnFEMI" not in text
        assert "FwoGZXIvYXdzEBa" not in text
    assert repr(credentials) == "Credentials(access_key='ASIA...MPLE', token=***)"
    assert repr(Credentials("short", "x")) == "Credentials(access_key='***')"


# -- refreshing -----------------------------------------------------------------------------

T0 = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC).timestamp()
LIFETIME = 3600.0
ADVISORY = T0 + LIFETIME - 12 * 60  # inside the 15-minute advisory window only
MANDATORY = T0 + LIFETIME - 5 * 60  # inside the 10-minute mandatory window
INITIAL = Credentials("ASIAINITIAL", "secret-0", "token-0")


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


@dataclass
class FakeClock:
    now: float = T0

    def __call__(self) -> float:
        return self.now

    def datetime(self) -> dt.datetime:
        return _utc(self.now)


@dataclass
class RefreshSource:
    """A botocore refresh callback that records its calls and can be held or made to fail."""

    clock: FakeClock
    lifetime: float = LIFETIME
    fail: bool = False
    threads: list[int] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.release.set()

    @property
    def calls(self) -> int:
        return len(self.threads)

    def __call__(self) -> dict[str, str]:
        self.threads.append(threading.get_ident())
        self.started.set()
        if not self.release.wait(WAIT):
            raise TimeoutError("the test never released the refresh")
        if self.fail:
            raise RuntimeError("STS is down")
        return {
            "access_key": f"ASIAREFRESHED{self.calls}",
            "secret_key": f"secret-{self.calls}",
            "token": f"token-{self.calls}",
            "expiry_time": _utc(self.clock.now + self.lifetime).isoformat(),
        }

    def refreshed(self, n: int) -> Credentials:
        return Credentials(f"ASIAREFRESHED{n}", f"secret-{n}", f"token-{n}")


@dataclass
class Refreshable:
    clock: FakeClock
    source: RefreshSource
    hops: list[int]  # calls of credentials._refresh, i.e. worker-thread hops to refresh


@pytest.fixture
def refreshable(monkeypatch: pytest.MonkeyPatch) -> Refreshable:
    """botocore's chain yields RefreshableCredentials expiring at T0 + LIFETIME; fake time."""
    clock = FakeClock()
    monkeypatch.setattr(credentials_module, "_now", clock)
    source = RefreshSource(clock)
    boto_credentials = RefreshableCredentials(
        access_key=INITIAL.access_key,
        secret_key=INITIAL.secret_key,
        token="token-0",
        expiry_time=_utc(T0 + LIFETIME),
        refresh_using=source,
        method="test",
        time_fetcher=clock.datetime,
    )
    monkeypatch.setattr(botocore.session.Session, "get_credentials", lambda self: boto_credentials)
    hops: list[int] = []
    real_refresh = credentials_module._refresh

    def counting(boto: BotoCredentials) -> Any:
        hops.append(threading.get_ident())
        return real_refresh(boto)

    monkeypatch.setattr(credentials_module, "_refresh", counting)
    return Refreshable(clock, source, hops)


async def settled(provider: CredentialProvider) -> None:
    """Wait for the provider's background refresh, if one runs (white-box)."""
    task = provider._task
    if task is not None:
        await asyncio.wait({task}, timeout=WAIT)
        assert task.done()


async def wait_started(source: RefreshSource) -> None:
    assert await asyncio.to_thread(source.started.wait, WAIT)


async def test_far_from_expiry_no_refresh(refreshable: Refreshable) -> None:
    provider = CredentialProvider()
    for _ in range(100):
        assert await provider.get() == INITIAL
    refreshable.clock.now = T0 + LIFETIME - 16 * 60
    assert await provider.get() == INITIAL
    assert refreshable.source.calls == 0
    assert refreshable.hops == []


async def test_mandatory_refresh_is_awaited_and_runs_off_the_loop(refreshable: Refreshable) -> None:
    provider = CredentialProvider()
    assert await provider.get() == INITIAL
    source = refreshable.source
    source.release.clear()
    refreshable.clock.now = MANDATORY

    caller = asyncio.create_task(provider.get())
    await wait_started(source)
    assert not caller.done()  # it waits for the refresh...
    source.release.set()
    async with asyncio.timeout(WAIT):
        assert await caller == source.refreshed(1)  # ...and gets the new credentials
    assert source.threads[0] != threading.get_ident()
    assert refreshable.hops[0] != threading.get_ident()
    assert await provider.get() == source.refreshed(1)
    assert source.calls == 1


async def test_concurrent_callers_near_expiry_share_one_refresh(refreshable: Refreshable) -> None:
    provider = CredentialProvider()
    assert await provider.get() == INITIAL
    source = refreshable.source
    source.release.clear()
    refreshable.clock.now = MANDATORY

    callers = [asyncio.create_task(provider.get()) for _ in range(50)]
    await wait_started(source)
    source.release.set()
    async with asyncio.timeout(WAIT):
        results = await asyncio.gather(*callers)
    assert results == [source.refreshed(1)] * 50
    assert source.calls == 1
    assert len(refreshable.hops) == 1  # one worker-thread hop, not 50 serialised by botocore


async def test_advisory_refresh_runs_in_the_background(refreshable: Refreshable) -> None:
    provider = CredentialProvider()
    assert await provider.get() == INITIAL
    source = refreshable.source
    source.release.clear()
    refreshable.clock.now = ADVISORY

    async with asyncio.timeout(WAIT):  # callers are not held up by the refresh
        for _ in range(20):
            assert await provider.get() == INITIAL
    await wait_started(source)
    assert await provider.get() == INITIAL  # still running: the current credentials still do
    assert source.calls == 1
    assert len(refreshable.hops) == 1

    source.release.set()
    await settled(provider)
    assert await provider.get() == source.refreshed(1)
    assert source.threads[0] != threading.get_ident()
    assert source.calls == 1


async def test_failed_advisory_refresh_keeps_the_credentials_and_backs_off(
    refreshable: Refreshable,
) -> None:
    provider = CredentialProvider()
    assert await provider.get() == INITIAL
    source = refreshable.source
    source.fail = True
    refreshable.clock.now = ADVISORY

    assert await provider.get() == INITIAL
    await settled(provider)
    assert source.calls == 1
    for _ in range(10):  # no new attempt on every call...
        assert await provider.get() == INITIAL
    await settled(provider)
    assert source.calls == 1

    source.fail = False
    refreshable.clock.now += 31  # ...but one after a pause
    assert await provider.get() == INITIAL
    await settled(provider)
    assert source.calls == 2
    assert await provider.get() == source.refreshed(2)


async def test_failed_mandatory_refresh_is_an_auth_error_and_retried(
    refreshable: Refreshable,
) -> None:
    provider = CredentialProvider()
    assert await provider.get() == INITIAL
    source = refreshable.source
    source.fail = True
    refreshable.clock.now = MANDATORY

    with pytest.raises(AuthError, match="STS is down") as caught:
        await provider.get()
    assert isinstance(caught.value.__cause__, RuntimeError)
    source.fail = False
    assert await provider.get() == source.refreshed(2)


async def test_short_lived_credentials_are_not_refreshed_on_every_call(
    refreshable: Refreshable,
) -> None:
    provider = CredentialProvider()
    assert await provider.get() == INITIAL
    source = refreshable.source
    source.lifetime = 5 * 60  # the source hands out credentials already in the window
    refreshable.clock.now = MANDATORY

    assert await provider.get() == source.refreshed(1)
    for _ in range(10):
        assert await provider.get() == source.refreshed(1)
    assert source.calls == 1
    refreshable.clock.now += 31
    assert await provider.get() == source.refreshed(2)
    assert source.calls == 2


async def test_deferred_credentials_first_resolve_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(credentials_module, "_now", clock)
    source = RefreshSource(clock)
    deferred = DeferredRefreshableCredentials(source, "test", time_fetcher=clock.datetime)
    monkeypatch.setattr(botocore.session.Session, "get_credentials", lambda self: deferred)

    provider = CredentialProvider()
    assert await provider.get() == source.refreshed(1)
    assert source.threads == [source.threads[0]]
    assert source.threads[0] != threading.get_ident()
    clock.now = T0 + LIFETIME - 5 * 60
    assert await provider.get() == source.refreshed(2)


async def test_aclose_cancels_a_background_refresh(refreshable: Refreshable) -> None:
    provider = CredentialProvider()
    assert await provider.get() == INITIAL
    source = refreshable.source
    source.release.clear()
    refreshable.clock.now = ADVISORY
    assert await provider.get() == INITIAL
    await wait_started(source)

    async with asyncio.timeout(WAIT):
        await provider.aclose()  # does not wait for the worker thread
    await provider.aclose()
    source.release.set()
    with pytest.raises(ClientClosedError):
        await provider.get()


async def test_aclose_while_callers_wait_for_a_refresh(refreshable: Refreshable) -> None:
    provider = CredentialProvider()
    assert await provider.get() == INITIAL
    source = refreshable.source
    source.release.clear()
    refreshable.clock.now = MANDATORY

    caller = asyncio.create_task(provider.get())
    await wait_started(source)
    async with asyncio.timeout(WAIT):
        await provider.aclose()
        with pytest.raises(ClientClosedError):
            await caller  # told why, not handed a CancelledError it never asked for
    source.release.set()


async def test_aclose_of_an_unused_provider() -> None:
    provider = CredentialProvider(access_key="AKIA", secret_key="s")
    await provider.aclose()
    with pytest.raises(ClientClosedError):
        await provider.get()


async def test_a_caller_cancelled_while_waiting_does_not_cancel_the_refresh(
    refreshable: Refreshable,
) -> None:
    provider = CredentialProvider()
    assert await provider.get() == INITIAL
    source = refreshable.source
    source.release.clear()
    refreshable.clock.now = MANDATORY

    impatient = asyncio.create_task(provider.get())
    patient = asyncio.create_task(provider.get())
    await wait_started(source)
    impatient.cancel()
    source.release.set()
    async with asyncio.timeout(WAIT):
        assert await patient == source.refreshed(1)
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert source.calls == 1
