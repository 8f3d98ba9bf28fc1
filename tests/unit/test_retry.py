"""Retries with a fake clock: what is retried, how often, how long it waits, when it stops."""

from __future__ import annotations

from typing import Any

import pytest
from _core_support import QUEUE_URL, connect, fake_sleep
from hypothesis import given, settings
from hypothesis import strategies as st

from sqs_async import _client as client_module
from sqs_async import errors
from sqs_async._config import RetryPolicy
from sqs_async._retry import (
    QUOTA_CAPACITY,
    RETRY_COST,
    TIMEOUT_RETRY_COST,
    AdaptiveRateLimiter,
    RetryQuota,
    backoff_delay,
    is_retriable,
)
from sqs_async._transport.base import Response
from sqs_async._transport.mock import RecordedCall, error_response


def ceiling(retry: int, policy: RetryPolicy) -> float:
    return min(policy.max_backoff, policy.base_delay * 2.0 ** (retry - 1))


class Script:
    """A handler that gives each scripted answer in turn, then ``{}`` (a 200)."""

    def __init__(self, *answers: Response | BaseException) -> None:
        self.answers = list(answers)

    def __call__(self, call: RecordedCall) -> Response | dict[str, Any]:
        if not self.answers:
            return {}
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def throttled() -> Response:
    return error_response(400, "RequestThrottled", "slow down", query_code="RequestThrottled")


def internal_error() -> Response:
    return error_response(500, "InternalError", "oops")


def unavailable() -> Response:
    return Response(503, {}, b"Service Unavailable")


FAILURES: dict[str, Any] = {
    "throttled": throttled,
    "500": internal_error,
    "503": unavailable,
    "connect": lambda: errors.ConnectError("connection reset"),
    "read-timeout": lambda: errors.ReadTimeout("no response"),
}
EXPECTED_CLASS: dict[str, type[errors.SQSError]] = {
    "throttled": errors.ThrottledError,
    "500": errors.ServiceUnavailable,
    "503": errors.ServiceUnavailable,
    "connect": errors.ConnectError,
    "read-timeout": errors.ReadTimeout,
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
async def test_retriable_failures_are_retried_until_success(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays = fake_sleep(monkeypatch)
    retries: list[int] = []
    real_backoff = backoff_delay

    def recording_backoff(retry: int, policy: RetryPolicy) -> float:
        retries.append(retry)
        return real_backoff(retry, policy)

    monkeypatch.setattr(client_module, "backoff_delay", recording_backoff)
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_backoff=1.5)
    script = Script(*(FAILURES[kind]() for _ in range(4)))
    conn, mock = connect(script, retry=policy)
    async with conn:
        assert await conn.list_queues() == {}
    assert len(mock.calls) == 5
    assert retries == [1, 2, 3, 4]
    assert len(delays) == 4
    for retry, delay in zip(retries, delays, strict=True):
        assert 0 <= delay <= ceiling(retry, policy)


@pytest.mark.parametrize("kind", sorted(FAILURES))
async def test_retriable_failures_stop_at_max_attempts(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays = fake_sleep(monkeypatch)
    script = Script(*(FAILURES[kind]() for _ in range(10)))
    conn, mock = connect(script, retry=RetryPolicy(max_attempts=4))
    async with conn:
        with pytest.raises(EXPECTED_CLASS[kind]) as info:
            await conn.list_queues()
    assert len(mock.calls) == 4
    assert len(delays) == 3
    assert info.value.operation == "ListQueues"


async def test_max_attempts_one_disables_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    delays = fake_sleep(monkeypatch)
    conn, mock = connect(Script(throttled()), retry=RetryPolicy(max_attempts=1))
    async with conn:
        with pytest.raises(errors.ThrottledError):
            await conn.list_queues()
    assert len(mock.calls) == 1
    assert delays == []


@pytest.mark.parametrize(
    "answer",
    [
        error_response(
            400, "QueueDoesNotExist", query_code="AWS.SimpleQueueService.NonExistentQueue"
        ),
        error_response(400, "InvalidParameterValue"),
        error_response(403, "InvalidSecurity"),
        error_response(400, "SomethingUnknown"),
    ],
)
async def test_non_retriable_errors_are_not_retried(
    answer: Response, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays = fake_sleep(monkeypatch)
    conn, mock = connect(Script(answer, answer, answer))
    async with conn:
        with pytest.raises(errors.ServiceError):
            await conn.queue(QUEUE_URL).write("x")
    assert len(mock.calls) == 1
    assert delays == []


async def test_validation_errors_are_neither_sent_nor_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delays = fake_sleep(monkeypatch)
    conn, mock = connect(Script())
    async with conn:
        with pytest.raises(errors.ValidationError):
            await conn.queue(QUEUE_URL).write("")
    assert mock.calls == []
    assert delays == []


async def test_checksum_mismatch_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    delays = fake_sleep(monkeypatch)

    def handler(call: RecordedCall) -> dict[str, Any]:
        return {"MessageId": "m", "MD5OfMessageBody": "0" * 32}

    conn, mock = connect(handler)
    async with conn:
        with pytest.raises(errors.ChecksumMismatch):
            await conn.queue(QUEUE_URL).write("x")
    assert len(mock.calls) == 1
    assert delays == []


async def test_retry_quota_stops_retries_once_exhausted(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sleep(monkeypatch)
    failing = True

    def handler(call: RecordedCall) -> Response | dict[str, Any]:
        return internal_error() if failing else {}

    conn, mock = connect(handler, retry=RetryPolicy(max_attempts=3))
    async with conn:
        # Each failing call spends two retries (10 tokens): 50 calls empty the bucket.
        calls_to_empty = QUOTA_CAPACITY // (2 * RETRY_COST)
        for _ in range(calls_to_empty):
            with pytest.raises(errors.ServiceUnavailable):
                await conn.list_queues()
        assert len(mock.calls) == 3 * calls_to_empty
        mock.calls.clear()
        with pytest.raises(errors.ServiceUnavailable):
            await conn.list_queues()
        assert len(mock.calls) == 1  # no retry left

        # Successes refund one token each; five of them pay for one more retry.
        failing = False
        for _ in range(RETRY_COST):
            await conn.list_queues()
        failing = True
        mock.calls.clear()
        with pytest.raises(errors.ServiceUnavailable):
            await conn.list_queues()
        assert len(mock.calls) == 2


async def test_quota_is_refunded_by_a_success_after_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_sleep(monkeypatch)
    conn, _ = connect(Script(internal_error(), internal_error()), retry=RetryPolicy(max_attempts=3))
    async with conn:
        await conn.list_queues()
        assert conn._quota.available == QUOTA_CAPACITY


# -- _retry, directly ------------------------------------------------------------------------


def test_backoff_delay_full_jitter_bounds() -> None:
    policy = RetryPolicy(base_delay=0.1, max_backoff=1.0)
    assert backoff_delay(1, policy, rand=lambda: 0.0) == 0.0
    assert backoff_delay(1, policy, rand=lambda: 1.0) == pytest.approx(0.1)
    assert backoff_delay(2, policy, rand=lambda: 1.0) == pytest.approx(0.2)
    assert backoff_delay(3, policy, rand=lambda: 1.0) == pytest.approx(0.4)
    assert backoff_delay(4, policy, rand=lambda: 1.0) == pytest.approx(0.8)
    assert backoff_delay(5, policy, rand=lambda: 1.0) == pytest.approx(1.0)  # capped
    assert backoff_delay(50, policy, rand=lambda: 1.0) == pytest.approx(1.0)
    assert backoff_delay(3, policy, rand=lambda: 0.5) == pytest.approx(0.2)


@settings(max_examples=100, deadline=None)
@given(
    retry=st.integers(min_value=1, max_value=60),
    base=st.floats(min_value=0.0, max_value=5.0),
    cap=st.floats(min_value=0.0, max_value=100.0),
    r=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_backoff_delay_stays_within_bounds(retry: int, base: float, cap: float, r: float) -> None:
    policy = RetryPolicy(base_delay=base, max_backoff=cap)
    delay = backoff_delay(retry, policy, rand=lambda: r)
    assert 0.0 <= delay <= ceiling(retry, policy)
    assert delay <= cap


def test_backoff_delay_is_random_by_default() -> None:
    policy = RetryPolicy(base_delay=1.0, max_backoff=10.0)
    samples = {backoff_delay(3, policy) for _ in range(50)}
    assert len(samples) > 1
    assert all(0 <= s <= 4.0 for s in samples)


def test_is_retriable() -> None:
    assert is_retriable(errors.ThrottledError("x"))
    assert is_retriable(errors.ServiceUnavailable("x"))
    assert is_retriable(errors.ConnectError("x"))
    assert not is_retriable(errors.QueueDoesNotExist("x"))
    assert not is_retriable(errors.ChecksumMismatch("x"))
    assert not is_retriable(ValueError("x"))


def test_retry_quota_costs() -> None:
    quota = RetryQuota(capacity=20)
    assert quota.acquire(errors.ReadTimeout("t")) == TIMEOUT_RETRY_COST
    assert quota.acquire(errors.ThrottledError("t")) == RETRY_COST
    assert quota.available == 20 - TIMEOUT_RETRY_COST - RETRY_COST
    assert quota.acquire(errors.ReadTimeout("t")) is None  # 5 left, costs 10
    assert quota.acquire(errors.ThrottledError("t")) == RETRY_COST
    assert quota.acquire(errors.ThrottledError("t")) is None
    quota.release(RETRY_COST)
    assert quota.available == RETRY_COST
    quota.release(0)
    assert quota.available == RETRY_COST + 1


def test_retry_quota_charges_connect_timeouts_as_timeouts() -> None:
    quota = RetryQuota()
    assert quota.acquire(errors.ConnectTimeout("t")) == TIMEOUT_RETRY_COST


def test_retry_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="mode"):
        RetryPolicy(mode="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay=-1)


def test_retry_quota_never_exceeds_capacity() -> None:
    quota = RetryQuota()
    quota.release(100)
    assert quota.available == QUOTA_CAPACITY


def test_adaptive_limiter_is_off_until_a_throttle() -> None:
    limiter = AdaptiveRateLimiter()
    assert limiter.rate is None
    for i in range(100):
        assert limiter.acquire(1000.0 + i * 0.001) == 0.0
        limiter.on_response(1000.0 + i * 0.001, throttled=False)
    assert limiter.rate is None


def test_adaptive_limiter_lowers_its_rate_on_throttles_and_switches_off_after_recovering() -> None:
    limiter = AdaptiveRateLimiter()
    now = 1000.0
    # 20 requests per second for two seconds, so that it measures a send rate.
    for i in range(41):
        limiter.acquire(now + i * 0.05)
    now += 2.0
    limiter.on_response(now, throttled=True)
    first = limiter.rate
    assert first is not None
    assert first == pytest.approx(0.7 * 20.0)  # 70 % of the measured 20 requests/s
    limiter.on_response(now, throttled=True)
    second = limiter.rate
    assert second is not None
    assert second < first

    # While limiting, a burst must wait.
    waits = [limiter.acquire(now) for _ in range(5)]
    assert waits[-1] > 0
    assert waits == sorted(waits)

    # Successes raise the rate until the limiter switches off.
    rates = []
    for _ in range(1000):
        limiter.on_response(now, throttled=False)
        rates.append(limiter.rate)
        if limiter.rate is None:
            break
    assert rates[-1] is None
    assert len(rates) > 2
    numeric = [r for r in rates if r is not None]
    assert numeric == sorted(numeric)
    assert limiter.acquire(now) == 0.0


def test_adaptive_rate_never_drops_below_the_minimum() -> None:
    limiter = AdaptiveRateLimiter()
    for i in range(50):
        limiter.on_response(float(i), throttled=True)
    assert limiter.rate == AdaptiveRateLimiter.MIN_RATE


async def test_adaptive_mode_limits_after_a_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    delays = fake_sleep(monkeypatch)
    conn, mock = connect(Script(throttled()), retry=RetryPolicy(mode="adaptive", max_attempts=3))
    async with conn:
        assert conn._limiter is not None
        assert conn._limiter.rate is None
        await conn.list_queues()
        assert conn._limiter.rate is not None
        await conn.list_queues()
    assert len(mock.calls) == 3
    # a backoff sleep, then the limiter's sleeps before the following sends
    assert len(delays) >= 2
    assert all(d >= 0 for d in delays)


async def test_standard_mode_has_no_rate_limiter() -> None:
    conn, _ = connect(Script())
    async with conn:
        assert conn._limiter is None
