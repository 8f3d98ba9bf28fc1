"""Retry decisions, pure: which failures to retry, how long to back off, when to stop.

Follows the AWS SDKs' retry modes. ``standard``: capped exponential backoff with full
jitter (``random() * min(max_backoff, base * 2**n)``) and a retry quota (a bucket of 500
tokens; a retry costs 5, a retry after a timeout 10; a success refunds what its retries
cost, or 1) so that an outage does not become a retry storm. ``adaptive`` adds a
client-side send rate that drops on throttling and recovers on success. The caller does
the sleeping: nothing here touches the clock except through the ``now`` it is given.
"""

from __future__ import annotations

from collections.abc import Callable

from ._config import RetryPolicy
from .errors import ConnectTimeout, ReadTimeout, SQSError

__all__ = ["AdaptiveRateLimiter", "RetryQuota", "backoff_delay", "is_retriable"]

QUOTA_CAPACITY = 500
RETRY_COST = 5
TIMEOUT_RETRY_COST = 10
NO_RETRY_INCREMENT = 1


def is_retriable(exc: BaseException) -> bool:
    """Whether a failed attempt may be retried: throttling, 5xx and transport failures."""
    return isinstance(exc, SQSError) and type(exc).retriable


def backoff_delay(
    retry: int, policy: RetryPolicy, rand: Callable[[], float] | None = None
) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first retry); ``rand``:
    the source of jitter in [0, 1), ``random.random`` by default (imported on the first
    backoff: most processes never back off, and start-up time counts, issue 13)."""
    if rand is None:
        import random

        rand = random.random
    ceiling = min(policy.max_backoff, policy.base_delay * 2.0 ** (retry - 1))
    return rand() * ceiling


class RetryQuota:
    """The standard mode's retry token bucket, shared by all calls of a connection."""

    __slots__ = ("available",)

    def __init__(self, capacity: int = QUOTA_CAPACITY) -> None:
        self.available = capacity

    def acquire(self, exc: BaseException) -> int | None:
        """Take the cost of retrying after ``exc``; ``None`` when the quota is empty."""
        cost = TIMEOUT_RETRY_COST if isinstance(exc, ReadTimeout | ConnectTimeout) else RETRY_COST
        if cost > self.available:
            return None
        self.available -= cost
        return cost

    def release(self, spent: int) -> None:
        """A call succeeded after spending ``spent`` tokens on retries (0 when none)."""
        self.available = min(QUOTA_CAPACITY, self.available + (spent or NO_RETRY_INCREMENT))


class AdaptiveRateLimiter:
    """A token bucket whose fill rate follows throttling (the SDKs' adaptive mode, simplified).

    Off until the first throttle. On a throttle the rate drops to 70 % of the measured send
    rate (or of the current limit); each success raises the limit by 10 %, and once it is
    twice the highest rate seen at a throttle the limiter switches off again.
    """

    __slots__ = ("_ceiling", "_last", "_measured", "_rate", "_tokens", "_window", "_window_start")

    MIN_RATE = 0.5

    def __init__(self) -> None:
        self._rate: float | None = None  # None: not limiting
        self._ceiling = 0.0
        self._tokens = 1.0
        self._last = 0.0
        self._measured = 0.0
        self._window = 0
        self._window_start = 0.0

    @property
    def rate(self) -> float | None:
        """The current send rate limit in requests per second, or ``None``."""
        return self._rate

    def acquire(self, now: float) -> float:
        """Take a token for a request at ``now``; return the seconds to wait before sending."""
        self._window += 1
        if now - self._window_start >= 1.0:
            self._measured = self._window / max(now - self._window_start, 1e-9)
            self._window = 0
            self._window_start = now
        if self._rate is None:
            return 0.0
        self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
        self._last = now
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self._rate

    def on_response(self, now: float, *, throttled: bool) -> None:
        """Adjust the rate after a response."""
        if throttled:
            base = self._rate if self._rate is not None else max(self._measured, 1.0)
            self._ceiling = max(self._ceiling, base)
            self._rate = max(self.MIN_RATE, base * 0.7)
            self._last = now
            self._tokens = min(self._tokens, 1.0)
        elif self._rate is not None:
            self._rate *= 1.1
            if self._rate >= 2 * self._ceiling:
                self._rate = None
