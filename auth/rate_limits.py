"""Per-caller request limits: past the limit a caller gets 429 with Retry-After (plan 13:
"request surges: gateway queueing, 429, back-off").

Counted in this process's memory (one process serves), in a moving window, by `limits`.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from errors import RateLimited


def parse_rule(rule: str | None) -> RateLimitItem | None:
    """"60/minute", "5 per 10 seconds" ...; empty means no limit. Raises ValueError."""
    return parse(rule) if rule and rule.strip() else None


class RateLimit:
    def __init__(self, rule: str | None, what: str) -> None:
        self._item = parse_rule(rule)
        self._what = what
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, *key: str) -> None:
        """Count one request for the key; raise RateLimited when it is one too many."""
        if self._item is not None and not self._limiter.hit(self._item, *key):
            self._refuse(*key)

    def check(self, *key: str) -> None:
        """Raise RateLimited if the key has used its limit, without counting a request."""
        if self._item is not None and not self._limiter.test(self._item, *key):
            self._refuse(*key)

    def _refuse(self, *key: str) -> None:
        assert self._item is not None
        reset_at, _ = self._limiter.get_window_stats(self._item, *key)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(
            f"Too many {self._what}: the limit is {self._item}. Try again in {retry_after} s.",
            retry_after_s=retry_after,
        )

