"""The limits behind 429: counting, refusing with a retry time, and no limit when unset."""

from __future__ import annotations

import pytest

from auth.rate_limits import RateLimit
from errors import RateLimited


def test_the_request_past_the_limit_is_refused_with_a_retry_time() -> None:
    limit = RateLimit("2/minute", "answers")
    limit.hit("7")
    limit.hit("7")
    with pytest.raises(RateLimited) as info:
        limit.hit("7")
    assert info.value.status_code == 429 and info.value.code == "rate_limited"
    assert 1 <= info.value.retry_after_s <= 60
    assert "the limit is 2 per 1 minute." in info.value.message


def test_each_key_has_its_own_count() -> None:
    limit = RateLimit("1/hour", "answers")
    limit.hit("alice")
    limit.hit("bob")
    with pytest.raises(RateLimited, match="1 per 1 hour"):
        limit.hit("alice")


def test_check_refuses_only_once_the_limit_is_used_and_counts_nothing() -> None:
    limit = RateLimit("1 per 10 seconds", "failed sign-ins")
    for _ in range(5):
        limit.check("127.0.0.1", "test")
    limit.hit("127.0.0.1", "test")
    with pytest.raises(RateLimited, match="1 per 10 second"):
        limit.check("127.0.0.1", "test")


@pytest.mark.parametrize("rule", [None, "", "  "])
def test_an_empty_rule_means_no_limit(rule: str | None) -> None:
    limit = RateLimit(rule, "answers")
    for _ in range(1000):
        limit.hit("7")


def test_a_rule_that_does_not_parse_is_rejected_by_the_settings() -> None:
    from pydantic import ValidationError

    from settings import Settings
    with pytest.raises(ValidationError, match="chat_rate_limit"):
        Settings(CHAT_RATE_LIMIT="lots")
