"""Usage dashboard figures: each one DuckDB query over the `requests` table.

Every function takes the connection and a `UsageFilter` and returns plain Python or pandas
data. They run on the Database's worker thread: `await db.run(lambda c: f(c, flt))`.

Times are UTC throughout: the filter's bounds are aware datetimes converted to UTC, buckets
are cut on UTC boundaries whatever the connection's TimeZone setting, and every timestamp
returned is an aware pandas Timestamp in UTC. The range is half-open: start <= t < end.

SQL text is assembled only from fixed fragments (which filters are present); every value
travels as a `?` parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import duckdb
import pandas as pd

Bucket = Literal["minute", "hour", "day"]

BUCKET_WIDTHS: dict[Bucket, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
# The widest range each bucket size is used for: at most ~180 minute points, 24 hour points;
# 7 and 30 days are per-day bars (issue 12: 168 hourly bars were too thin to read).
_MINUTE_UP_TO = timedelta(hours=3)
_HOUR_UP_TO = timedelta(days=1)

UNKNOWN_MODEL = "(unknown)"
UNKNOWN_USER = "(unknown)"
# A deleted account keeps its usage rows; the tables say whose they were, and that it is gone.
_USERNAME = "CASE WHEN u.deleted_at IS NULL THEN coalesce(u.username, ?)" \
            " ELSE u.username || ' (deleted)' END"


def _as_utc(value: datetime) -> datetime:
    """Aware datetimes are converted; naive ones are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class UsageFilter:
    """What the dashboard shows: a time range, optionally one model and one user.

    `scope_user_id` is set for a caller who is not an admin: it always restricts the figures
    to that user, whatever `user_id` says.
    """

    start: datetime
    end: datetime
    model: str | None = None
    user_id: int | None = None
    scope_user_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _as_utc(self.start))
        object.__setattr__(self, "end", _as_utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"the range ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def last(
        cls, span: timedelta, *, now: datetime | None = None, model: str | None = None,
        user_id: int | None = None, scope_user_id: int | None = None,
    ) -> UsageFilter:
        end = _as_utc(now) if now is not None else datetime.now(UTC)
        return cls(end - span, end, model=model, user_id=user_id, scope_user_id=scope_user_id)

    @property
    def bucket(self) -> Bucket:
        return choose_bucket(self.start, self.end)


def choose_bucket(start: datetime, end: datetime) -> Bucket:
    span = end - start
    if span <= _MINUTE_UP_TO:
        return "minute"
    if span <= _HOUR_UP_TO:
        return "hour"
    return "day"


@dataclass(frozen=True)
class Percentiles:
    """Latency and time to first token (ms) over completed requests; None where no data."""

    completed: int
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    ttft_p50: float | None
    ttft_p95: float | None
    ttft_p99: float | None


@dataclass(frozen=True)
class Outcomes:
    """How requests ended. Rates are fractions of all requests (0.0 when there are none)."""

    total: int
    completed: int
    cancelled: int
    failed: int
    server_errors: int  # status_code >= 500: the plan's KPI (error rate < 1 %, 5xx)
    error_rate: float = field(init=False)
    cancel_rate: float = field(init=False)
    server_error_rate: float = field(init=False)

    def __post_init__(self) -> None:
        def rate(part: int) -> float:
            return part / self.total if self.total else 0.0

        object.__setattr__(self, "error_rate", rate(self.failed))
        object.__setattr__(self, "cancel_rate", rate(self.cancelled))
        object.__setattr__(self, "server_error_rate", rate(self.server_errors))


def _where(
    flt: UsageFilter, *, by_model: bool = True, by_user: bool = True, by_range: bool = True
) -> tuple[str, list[Any]]:
    """The WHERE clause over `requests r` and its parameters.

    by_model / by_user / by_range=False leave out the model or user *choice* or the time range
    (for the dropdowns' own lists); the caller's scope is never left out.
    """
    clauses = ["r.created_at >= ?", "r.created_at < ?"] if by_range else ["TRUE"]
    params: list[Any] = [flt.start, flt.end] if by_range else []
    if by_model and flt.model is not None:
        clauses.append("r.model = ?")
        params.append(flt.model)
    user_id = flt.scope_user_id if flt.scope_user_id is not None else (
        flt.user_id if by_user else None)
    if user_id is not None:
        clauses.append("r.user_id = ?")
        params.append(user_id)
    return " AND ".join(clauses), params


def _utc_column(frame: pd.DataFrame, column: str) -> None:
    series = frame[column]
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        series = pd.to_datetime(series)
        frame[column] = series.dt.tz_localize("UTC")
    else:
        frame[column] = series.dt.tz_convert("UTC")


def _frame(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pd.DataFrame:
    return conn.execute(sql, params).df()


_TOKENS = "coalesce(r.input_tokens, 0) + coalesce(r.output_tokens, 0)"
_SUMS = f"""
    count(*)::BIGINT AS requests,
    coalesce(sum(r.input_tokens), 0)::BIGINT AS input_tokens,
    coalesce(sum(r.output_tokens), 0)::BIGINT AS output_tokens,
    coalesce(sum({_TOKENS}), 0)::BIGINT AS tokens
"""


def requests_over_time(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> pd.DataFrame:
    """One row per bucket of the range (empty buckets included, as zeros), oldest first.

    Columns: bucket (UTC start of the bucket), requests, completed, cancelled, failed,
    input_tokens, output_tokens, tokens. The bucket size is `flt.bucket`.
    """
    where, params = _where(flt)
    width = BUCKET_WIDTHS[flt.bucket]
    # make_timestamp(epoch_us(t)) is t as a UTC wall-clock TIMESTAMP: it ignores the session's
    # TimeZone, and costs a fifth of `t AT TIME ZONE 'UTC'` (ICU) over a million rows.
    sql = f"""
        WITH buckets AS (
            SELECT unnest(generate_series(
                time_bucket(?::INTERVAL, make_timestamp(epoch_us(?::TIMESTAMPTZ))),
                time_bucket(?::INTERVAL, make_timestamp(epoch_us(?::TIMESTAMPTZ) - 1)),
                ?::INTERVAL)) AS bucket
        ), counted AS (
            SELECT time_bucket(?::INTERVAL, make_timestamp(epoch_us(r.created_at))) AS bucket,
                   count(*) FILTER (WHERE r.status = 'completed')::BIGINT AS completed,
                   count(*) FILTER (WHERE r.status = 'cancelled')::BIGINT AS cancelled,
                   count(*) FILTER (WHERE r.status = 'failed')::BIGINT AS failed,
                   {_SUMS}
            FROM requests r
            WHERE {where}
            GROUP BY 1
        )
        SELECT b.bucket,
               coalesce(c.requests, 0)::BIGINT AS requests,
               coalesce(c.completed, 0)::BIGINT AS completed,
               coalesce(c.cancelled, 0)::BIGINT AS cancelled,
               coalesce(c.failed, 0)::BIGINT AS failed,
               coalesce(c.input_tokens, 0)::BIGINT AS input_tokens,
               coalesce(c.output_tokens, 0)::BIGINT AS output_tokens,
               coalesce(c.tokens, 0)::BIGINT AS tokens
        FROM buckets b LEFT JOIN counted c ON c.bucket = b.bucket
        ORDER BY b.bucket
    """
    frame = _frame(conn, sql, [width, flt.start, width, flt.end, width, width, *params])
    _utc_column(frame, "bucket")
    return frame


def tokens_by_model(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> pd.DataFrame:
    """Columns: model, requests, input_tokens, output_tokens, tokens; most tokens first."""
    where, params = _where(flt)
    sql = f"""
        SELECT coalesce(r.model, ?) AS model, {_SUMS}
        FROM requests r
        WHERE {where}
        GROUP BY 1
        ORDER BY tokens DESC, model
    """
    return _frame(conn, sql, [UNKNOWN_MODEL, *params])


def _per_user_sql(where: str, order: str, limit: bool) -> str:
    return f"""
        WITH per_user AS (
            SELECT r.user_id,
                   count(*) FILTER (WHERE r.status = 'failed')::BIGINT AS failed,
                   count(*) FILTER (WHERE r.status = 'cancelled')::BIGINT AS cancelled,
                   {_SUMS}
            FROM requests r
            WHERE {where}
            GROUP BY r.user_id
        )
        SELECT p.user_id, {_USERNAME} AS username, p.requests, p.input_tokens,
               p.output_tokens, p.tokens, p.failed, p.cancelled
        FROM per_user p LEFT JOIN users u ON u.id = p.user_id
        ORDER BY {order}
        {"LIMIT ?" if limit else ""}
    """


def tokens_by_user(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> pd.DataFrame:
    """Every user with requests in the range, most tokens first.

    Columns: user_id, username, requests, input_tokens, output_tokens, tokens, failed, cancelled.
    """
    where, params = _where(flt)
    sql = _per_user_sql(where, "p.tokens DESC, username", limit=False)
    return _frame(conn, sql, [*params, UNKNOWN_USER])


def heaviest_users(
    conn: duckdb.DuckDBPyConnection, flt: UsageFilter, limit: int = 10
) -> pd.DataFrame:
    """The top `limit` users by tokens, then by requests; the same columns as tokens_by_user."""
    where, params = _where(flt)
    sql = _per_user_sql(where, "p.tokens DESC, p.requests DESC, username", limit=True)
    return _frame(conn, sql, [*params, UNKNOWN_USER, limit])


def latency_percentiles(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> Percentiles:
    """p50/p95/p99 (quantile_cont, interpolated) of latency and TTFT over completed requests."""
    where, params = _where(flt)
    sql = f"""
        SELECT count(*) AS completed,
               quantile_cont(r.latency_ms, [0.5, 0.95, 0.99]) AS latency,
               quantile_cont(r.ttft_ms, [0.5, 0.95, 0.99]) AS ttft
        FROM requests r
        WHERE {where} AND r.status = 'completed'
    """
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    completed, latency, ttft = row
    lat: list[float | None] = list(latency) if latency is not None else [None] * 3
    first: list[float | None] = list(ttft) if ttft is not None else [None] * 3
    return Percentiles(int(completed), *lat, *first)


def outcomes(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> Outcomes:
    """Totals per status, with the error rate (failed / total) and cancel rate."""
    where, params = _where(flt)
    sql = f"""
        SELECT count(*),
               count(*) FILTER (WHERE r.status = 'completed'),
               count(*) FILTER (WHERE r.status = 'cancelled'),
               count(*) FILTER (WHERE r.status = 'failed'),
               count(*) FILTER (WHERE r.status_code >= 500)
        FROM requests r
        WHERE {where}
    """
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return Outcomes(*(int(value) for value in row))


def slowest_requests(
    conn: duckdb.DuckDBPyConnection, flt: UsageFilter, limit: int = 20
) -> pd.DataFrame:
    """The `limit` requests with the highest latency, slowest first.

    Columns: request_id, username, model, status, latency_ms, ttft_ms, input_tokens,
    output_tokens, tokens, created_at (UTC).
    """
    where, params = _where(flt)
    sql = f"""
        WITH slow AS (
            SELECT r.id, r.request_id, r.user_id, r.model, r.status, r.latency_ms, r.ttft_ms,
                   r.input_tokens, r.output_tokens, ({_TOKENS})::BIGINT AS tokens, r.created_at
            FROM requests r
            WHERE {where} AND r.latency_ms IS NOT NULL
            ORDER BY r.latency_ms DESC, r.id
            LIMIT ?
        )
        SELECT s.request_id, {_USERNAME} AS username, coalesce(s.model, ?) AS model,
               s.status, s.latency_ms, s.ttft_ms, s.input_tokens, s.output_tokens, s.tokens,
               s.created_at
        FROM slow s LEFT JOIN users u ON u.id = s.user_id
        ORDER BY s.latency_ms DESC, s.id
    """
    frame = _frame(conn, sql, [*params, limit, UNKNOWN_USER, UNKNOWN_MODEL])
    _utc_column(frame, "created_at")
    return frame


def models_present(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> list[str]:
    """Every model with requests at any time (for the model dropdown: a model can be picked in
    a range where it has none, issue 12), ignoring the model choice but not the user's."""
    where, params = _where(flt, by_model=False, by_range=False)
    sql = f"SELECT DISTINCT r.model FROM requests r WHERE {where} AND r.model IS NOT NULL ORDER BY 1"
    return [str(row[0]) for row in conn.execute(sql, params).fetchall()]


def users_present(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> list[tuple[int, str]]:
    """(user id, username) of users with requests in the range, by name, ignoring the user
    choice but not the caller's scope."""
    where, params = _where(flt, by_user=False)
    sql = f"""
        WITH present AS (SELECT DISTINCT r.user_id FROM requests r
                         WHERE {where} AND r.user_id IS NOT NULL)
        SELECT p.user_id, {_USERNAME} AS username
        FROM present p LEFT JOIN users u ON u.id = p.user_id
        ORDER BY username, p.user_id
    """
    return [(int(uid), str(name)) for uid, name in conn.execute(sql, [*params, UNKNOWN_USER]).fetchall()]
