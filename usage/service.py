"""The usage service: what REST and the UI ask of usage, each answer scoped to its caller."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from errors import InvalidInput
from storage import exports, usage
from storage.analytics import UsageFilter
from storage.db import Database
from storage.users import User
from usage.dashboard import UsageView, load_view
from usage.scope import DEFAULT_RANGE, EVERYONE, asked_user, dashboard_filter, visible_user
from usage.summary import summary_json

ExportFormat = Literal["csv", "parquet"]


def _now() -> datetime:
    return datetime.now(UTC)


class UsageService:
    def __init__(self, db: Database, clock: Callable[[], datetime] = _now) -> None:
        self._db = db
        self._clock = clock

    def filter(self, caller: User, range_key: str | None = None, model: str | None = None,
               user: str | int | None = None, *, lenient: bool = False) -> UsageFilter:
        """The dashboard's filter: a range ("24h", "7d", "30d") up to now, a model, a user.
        `lenient` is for the Usage tab, whose hidden user choice is ignored for non-admins."""
        return dashboard_filter(caller, range_key, model, user, now=self._clock(),
                                lenient=lenient)

    async def dashboard(self, caller: User, range_key: str | None = None,
                        model: str | None = None, user: str | int | None = None, *,
                        lenient: bool = False) -> UsageView:
        flt = self.filter(caller, range_key, model, user, lenient=lenient)
        return await load_view(self._db, flt, per_user=caller.is_admin)

    async def summary(self, caller: User, range_key: str | None = None,
                      model: str | None = None, user: str | int | None = None) -> dict[str, Any]:
        """The dashboard's figures as JSON; asking for another user is for admins only."""
        view = await self.dashboard(caller, range_key, model, user)
        return summary_json(view, range_key or DEFAULT_RANGE)

    async def recent(self, caller: User, *, everyone: bool = False,
                     limit: int = 100) -> list[dict[str, Any]]:
        """The newest rows: the caller's own, or (admins) everyone's."""
        owner = visible_user(caller, EVERYONE if everyone else caller.id)
        return await self._db.run(lambda c: usage.recent(c, owner, limit))

    async def export(self, caller: User, fmt: ExportFormat, start: datetime | None = None,
                     end: datetime | None = None, model: str | None = None,
                     user: int | None = None) -> bytes:
        """Rows as a CSV (UTF-8 with a BOM) or Parquet file: admins get everyone's or one
        user's, others their own. No start/end: all time; naive times are UTC."""
        start, end = exports.as_utc(start), exports.as_utc(end)
        if start is not None and end is not None and end <= start:
            raise InvalidInput("`to` must be later than `from`", code="invalid_range")
        owner = visible_user(caller, asked_user(user))
        frame = await self._db.run(lambda c: exports.usage_frame(c, start, end, owner, model))
        # A private in-memory DuckDB serialises: off the database thread and the event loop.
        encode = exports.to_csv_bytes if fmt == "csv" else exports.to_parquet_bytes
        return await asyncio.to_thread(encode, frame)
