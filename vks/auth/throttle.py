"""Login throttling with the `limits` library: failed logins are counted per username and
per client address in a moving window; over either limit, a login is refused (429 with
Retry-After) before its password is even checked.

Only failures count. Successful logins do not: every teacher of a school may log in from
the school's one NAT address in the same morning minutes. A success clears its
username's failures (whoever succeeds knows the password) but not its address's (else a
guesser holding one valid account could reset the address's count between guesses).

The counters live in Redis when `VKS_REDIS_URL` is set, so that every API process sees
the same counts; without Redis, or while Redis cannot be reached, each process counts on
its own (logged), rather than refusing every login.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from booking.errors import TooManyAttempts

log = logging.getLogger(__name__)

NAMESPACE = "vks-login"
REDIS_TIMEOUT_S = 1.0


def rate(text: str, setting: str) -> RateLimitItem:
    """A rate in `limits` notation ("5/minute"); ValueError naming the setting if not."""
    try:
        return parse(text)
    except ValueError:
        raise ValueError(
            f"{setting}={text!r} is not a rate like '5/minute' or '30 per 10 minutes'"
        ) from None


class LoginThrottle:
    def __init__(self, per_user: str, per_address: str, redis_url: str = "") -> None:
        self._per_user = rate(per_user, "VKS_LOGIN_RATE_PER_USER")
        self._per_address = rate(per_address, "VKS_LOGIN_RATE_PER_ADDRESS")
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        if redis_url:
            storage = storage_from_string(
                redis_url,
                wrap_exceptions=True,  # any Redis failure is a StorageError
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )
            self._shared = MovingWindowRateLimiter(storage)

    def _keys(self, username: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
        return [
            (self._per_user, "user", username),
            (self._per_address, "address", address),
        ]

    def _limiter(self) -> MovingWindowRateLimiter:
        return self._shared or self._local

    def _run(self, action: str, username: str, address: str) -> float:
        """Run `action` (test, hit, clear_user) on the shared counters, or on this
        process's while they cannot be reached; the seconds to wait (0: go ahead)."""
        try:
            return self._act(self._limiter(), action, username, address)
        except StorageError as exc:
            log.warning("login throttle: Redis unreachable (%s); counting in this process", exc)
            return self._act(self._local, action, username, address)

    def _act(
        self, limiter: MovingWindowRateLimiter, action: str, username: str, address: str
    ) -> float:
        wait = 0.0
        for item, kind, key in self._keys(username, address):
            if action == "hit":
                limiter.hit(item, NAMESPACE, kind, key)
            elif action == "clear_user":
                if kind == "user":
                    limiter.clear(item, NAMESPACE, kind, key)
            elif not limiter.test(item, NAMESPACE, kind, key):
                reset = limiter.get_window_stats(item, NAMESPACE, kind, key).reset_time
                wait = max(wait, reset - time.time(), 0.001)  # > 0: over the limit
        return wait

    def check(self, username: str, address: str) -> None:
        """TooManyAttempts (with the seconds to wait) if either limit is used up."""
        wait = self._run("test", username, address)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyAttempts(
                f"too many failed logins; try again in {seconds} s", retry_after=seconds
            )

    def failed(self, username: str, address: str) -> None:
        self._run("hit", username, address)

    def succeeded(self, username: str, address: str) -> None:
        self._run("clear_user", username, address)
