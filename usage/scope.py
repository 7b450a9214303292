"""Which usage rows a caller may see: decided here from the caller's account, for every caller.

A non-admin sees only their own requests. An admin sees everyone's, or one user's when they
name one. A non-admin who asks for someone else, or for everyone, is refused (admin_only) —
except by the Usage tab, whose user dropdown a non-admin never sees: whatever it sends for
them is ignored (`lenient`), as the tab always did.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

from errors import InvalidInput, PermissionDenied
from storage.analytics import UsageFilter
from storage.users import User

RANGES: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_RANGE = "24h"
ALL = "__all__"  # the Usage tab's dropdowns' "no filter" value
EVERYONE: Final = "all"  # everyone's rows, asked for explicitly (REST's ?all=true)

Asked = int | Literal["all"] | None  # a user id, everyone, or no choice (None)


def span(range_key: str | None) -> timedelta:
    """The length of a named range; no name is the default range."""
    if not range_key:
        return RANGES[DEFAULT_RANGE]
    if range_key not in RANGES:
        raise InvalidInput(f"range must be one of {', '.join(RANGES)}", code="invalid_range")
    return RANGES[range_key]


def asked_user(value: str | int | None) -> Asked:
    """What a caller asked for, from a query parameter or a dropdown's value."""
    if value is None or value in ("", ALL):
        return None
    if value == EVERYONE:
        return EVERYONE
    try:
        return int(value)
    except ValueError:
        raise InvalidInput("user must be a user id", code="invalid_user") from None


def visible_user(caller: User, asked: Asked, *, lenient: bool = False) -> int | None:
    """Whose rows the caller gets: one user's id, or None for everyone's.

    With no choice, an admin gets everyone's and anyone else their own."""
    if caller.is_admin:
        return asked if isinstance(asked, int) else None
    if asked is not None and asked != caller.id and not lenient:
        whose = "everyone's" if asked == EVERYONE else "another user's"
        raise PermissionDenied(f"Only admins may read {whose} usage", code="admin_only")
    return caller.id


def dashboard_filter(caller: User, range_key: str | None, model: str | None,
                     user: str | int | None, *, now: datetime | None = None,
                     lenient: bool = False) -> UsageFilter:
    """The dashboard's filter for this caller: the range up to `now`, a model, a user."""
    try:
        asked = asked_user(user)
    except InvalidInput:
        if not lenient:
            raise
        asked = None  # a custom value typed into the tab's dropdown
    owner = visible_user(caller, asked, lenient=lenient)
    chosen_model = None if model in (None, "", ALL) else model
    if caller.is_admin:
        return UsageFilter.last(span(range_key), now=now, model=chosen_model, user_id=owner)
    # scope_user_id, unlike user_id, no query leaves out (not even the dropdowns' lists).
    return UsageFilter.last(span(range_key), now=now, model=chosen_model, scope_user_id=owner)
