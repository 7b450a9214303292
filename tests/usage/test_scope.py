"""Who may see which usage rows: one rule for the Usage tab, REST and the Gradio API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from errors import InvalidInput, PermissionDenied
from storage.users import User
from usage.scope import ALL, DEFAULT_RANGE, EVERYONE, RANGES, asked_user, dashboard_filter, span
from usage.scope import visible_user as owner

ADMIN = User(1, "root", "admin", "h")
ALICE = User(2, "alice", "user", "h")
NOW = datetime(2030, 1, 2, 10, tzinfo=UTC)


def test_ranges_are_24h_7d_and_30d_with_24h_by_default() -> None:
    assert dict(RANGES) == {"24h": timedelta(hours=24), "7d": timedelta(days=7),
                            "30d": timedelta(days=30)}
    assert DEFAULT_RANGE == "24h"
    assert span(None) == span("") == timedelta(hours=24)


def test_an_unknown_range_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as refused:
        span("Last 24 hours")
    assert refused.value.code == "invalid_range"


def test_asking_for_nobody_in_particular_everyone_or_one_user() -> None:
    assert asked_user(None) is None and asked_user("") is None and asked_user(ALL) is None
    assert asked_user(EVERYONE) == EVERYONE
    assert asked_user("7") == 7 and asked_user(7) == 7
    with pytest.raises(InvalidInput):
        asked_user("bob")


def test_an_admin_sees_everyone_unless_they_name_one_user() -> None:
    assert owner(ADMIN, None) is None
    assert owner(ADMIN, EVERYONE) is None
    assert owner(ADMIN, 2) == 2
    assert owner(ADMIN, 1) == 1


def test_a_non_admin_sees_only_themselves() -> None:
    assert owner(ALICE, None) == 2
    assert owner(ALICE, 2) == 2


@pytest.mark.parametrize("asked", [1, 99, EVERYONE])
def test_a_non_admin_asking_for_others_is_refused_as_admin_only(asked: int | str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        owner(ALICE, asked)  # type: ignore[arg-type]
    assert refused.value.code == "admin_only"


def test_the_tabs_hidden_user_choice_is_ignored_for_a_non_admin_not_refused() -> None:
    assert owner(ALICE, 1, lenient=True) == 2
    assert owner(ALICE, EVERYONE, lenient=True) == 2


def test_a_non_admin_dashboard_is_scoped_to_themselves_whatever_user_they_pick() -> None:
    flt = dashboard_filter(ALICE, "7d", "A", "1", now=NOW, lenient=True)
    assert (flt.scope_user_id, flt.user_id) == (2, None)
    assert (flt.start, flt.end, flt.model) == (NOW - timedelta(days=7), NOW, "A")
    with pytest.raises(PermissionDenied):
        dashboard_filter(ALICE, "7d", None, "1", now=NOW)


def test_an_admin_dashboard_may_pick_any_user_or_everyone() -> None:
    picked = dashboard_filter(ADMIN, "30d", ALL, "2", now=NOW)
    assert (picked.scope_user_id, picked.user_id, picked.model) == (None, 2, None)
    assert picked.start == NOW - timedelta(days=30)
    everyone = dashboard_filter(ADMIN, None, None, ALL, now=NOW)
    assert (everyone.user_id, everyone.start) == (None, NOW - timedelta(hours=24))


def test_a_user_choice_that_is_no_id_is_ignored_by_the_tab_and_refused_elsewhere() -> None:
    assert dashboard_filter(ADMIN, None, None, "not-a-number", now=NOW, lenient=True).user_id is None
    with pytest.raises(InvalidInput):
        dashboard_filter(ADMIN, None, None, "not-a-number", now=NOW)
