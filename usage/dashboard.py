"""The Usage dashboard's figures for one filter: each analytics query its own db.run call."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from storage import analytics
from storage.analytics import Outcomes, Percentiles, UsageFilter
from storage.db import Database

HEAVIEST_LIMIT = 10
SLOWEST_LIMIT = 20


@dataclass
class UsageView:
    """Everything one refresh shows. by_user, heaviest and users are None for non-admins."""

    flt: UsageFilter
    series: pd.DataFrame
    by_model: pd.DataFrame
    percentiles: Percentiles
    outcomes: Outcomes
    slowest: pd.DataFrame
    models: list[str]
    by_user: pd.DataFrame | None = None
    heaviest: pd.DataFrame | None = None
    users: list[tuple[int, str]] | None = None


async def load_view(db: Database, flt: UsageFilter, per_user: bool) -> UsageView:
    """Run the queries, each as its own call so queued writes interleave between them.

    `per_user` (admins only) adds the figures that name other users."""
    series = await db.run(lambda c: analytics.requests_over_time(c, flt))
    view = UsageView(
        flt=flt,
        series=series,
        by_model=await db.run(lambda c: analytics.tokens_by_model(c, flt)),
        percentiles=await db.run(lambda c: analytics.latency_percentiles(c, flt)),
        outcomes=analytics.outcomes_of(series),
        slowest=await db.run(lambda c: analytics.slowest_requests(c, flt, SLOWEST_LIMIT)),
        models=await db.run(lambda c: analytics.models_present(c, flt)),
    )
    if per_user:
        by_user = await db.run(lambda c: analytics.tokens_by_user(c, flt))
        view.by_user = by_user
        view.heaviest = analytics.heaviest_of(by_user, HEAVIEST_LIMIT)
        # The choice's list ignores the choice itself: with one made, it needs its own query.
        view.users = analytics.users_of(by_user) if flt.user_id is None else await db.run(
            lambda c: analytics.users_present(c, flt))
    return view
