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

import math
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
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
# tokens is the sum of the two sums: the same integer as summing the per-row total, with one
# aggregate and one per-row expression fewer over millions of rows.
_SUMS = """
    count(*)::BIGINT AS requests,
    coalesce(sum(r.input_tokens), 0)::BIGINT AS input_tokens,
    coalesce(sum(r.output_tokens), 0)::BIGINT AS output_tokens,
    (coalesce(sum(r.input_tokens), 0) + coalesce(sum(r.output_tokens), 0))::BIGINT AS tokens
"""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _epoch_us(value: datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def _bucket_slots(flt: UsageFilter) -> tuple[int, int, int]:
    """(UTC start of the first bucket in microseconds since the epoch, bucket width in
    microseconds, number of buckets) for the range.

    The same buckets as time_bucket(width, t): its origin (2000-01-03) is a whole number of
    days after the epoch, so minute, hour and day buckets start at multiples of the width.
    """
    width = BUCKET_WIDTHS[flt.bucket] // _MICROSECOND
    first = _epoch_us(flt.start) // width * width
    last = (_epoch_us(flt.end) - 1) // width * width
    return first, width, (last - first) // width + 1


def requests_over_time(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> pd.DataFrame:
    """One row per bucket of the range (empty buckets included, as zeros), oldest first.

    Columns: bucket (UTC start of the bucket), requests, completed, cancelled, failed,
    server_errors, input_tokens, output_tokens, tokens. The bucket size is `flt.bucket`.
    """
    where, params = _where(flt)
    first, width, count = _bucket_slots(flt)
    # Rows are grouped by their bucket's number, an integer division of epoch_us(t) (the UTC
    # instant whatever the session's TimeZone): over ten million rows a third of the cost of
    # time_bucket over a timestamp. t >= start >= first, so the division never rounds up.
    # failed is what is neither completed nor cancelled (status is NOT NULL and CHECKed to be
    # one of the three): one filtered count fewer per row.
    sql = f"""
        WITH counted AS (
            SELECT (epoch_us(r.created_at) - ?) // ? AS slot,
                   count(*) FILTER (WHERE r.status = 'completed')::BIGINT AS completed,
                   count(*) FILTER (WHERE r.status = 'cancelled')::BIGINT AS cancelled,
                   count(*) FILTER (WHERE r.status_code >= 500)::BIGINT AS server_errors,
                   {_SUMS}
            FROM requests r
            WHERE {where}
            GROUP BY 1
        )
        SELECT make_timestamp(? + s.slot * ?) AS bucket,
               coalesce(c.requests, 0)::BIGINT AS requests,
               coalesce(c.completed, 0)::BIGINT AS completed,
               coalesce(c.cancelled, 0)::BIGINT AS cancelled,
               coalesce(c.requests - c.completed - c.cancelled, 0)::BIGINT AS failed,
               coalesce(c.server_errors, 0)::BIGINT AS server_errors,
               coalesce(c.input_tokens, 0)::BIGINT AS input_tokens,
               coalesce(c.output_tokens, 0)::BIGINT AS output_tokens,
               coalesce(c.tokens, 0)::BIGINT AS tokens
        FROM range(?) s(slot) LEFT JOIN counted c ON c.slot = s.slot
        ORDER BY s.slot
    """
    frame = _frame(conn, sql, [first, width, *params, first, width, count])
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


def _per_user_sql(where: str) -> str:
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
        ORDER BY p.tokens DESC, username
    """


def tokens_by_user(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> pd.DataFrame:
    """Every user with requests in the range, most tokens first.

    Columns: user_id, username, requests, input_tokens, output_tokens, tokens, failed, cancelled.
    """
    where, params = _where(flt)
    sql = _per_user_sql(where)
    return _frame(conn, sql, [*params, UNKNOWN_USER])


def heaviest_users(
    conn: duckdb.DuckDBPyConnection, flt: UsageFilter, limit: int = 10
) -> pd.DataFrame:
    """The top `limit` users by tokens, then by requests; the same columns as tokens_by_user."""
    return heaviest_of(tokens_by_user(conn, flt), limit)


def heaviest_of(by_user: pd.DataFrame, limit: int = 10) -> pd.DataFrame:
    """heaviest_users from tokens_by_user's frame: the dashboard has it already, and a second
    scan of the range for the same totals cost ~100 ms at ten million rows."""
    ordered = by_user.sort_values(["tokens", "requests", "username"],
                                  ascending=[False, False, True], kind="stable")
    return ordered.head(limit).reset_index(drop=True)


def users_of(by_user: pd.DataFrame) -> list[tuple[int, str]]:
    """users_present from tokens_by_user's frame, when no user is chosen (then both cover the
    same requests): by name, then id."""
    known = by_user[by_user["user_id"].notna()]
    pairs = [(int(uid), str(name)) for uid, name in zip(known["user_id"], known["username"],
                                                        strict=True)]
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


_QUANTILES = (0.5, 0.95, 0.99)
# Counting per value uses a plain array (a "perfect hash table") where the column's stored
# min..max span fits this many bits: 20 covers latencies up to 17 minutes, in 1 Mi counters
# per thread. DuckDB's default (12 bits, 4 s) sends latencies to a hash table, 3x slower.
_HISTOGRAM_BITS = 20


@contextmanager
def _perfect_hash_bits(conn: duckdb.DuckDBPyConnection, bits: int) -> Iterator[None]:
    """perfect_ht_threshold raised for one statement, then put back. The setting is global to
    the database, which is safe here: the Database runs one statement at a time."""
    row = conn.execute("SELECT current_setting('perfect_ht_threshold')").fetchone()
    assert row is not None
    conn.execute("SET perfect_ht_threshold = ?", [max(int(row[0]), bits)])
    try:
        yield
    finally:
        conn.execute("SET perfect_ht_threshold = ?", [int(row[0])])


def _neighbours(histogram: list[tuple[int, int]]) -> list[tuple[int, int, float]]:
    """What quantile_cont(x, q) interpolates between for each of _QUANTILES, from x's
    (value, count) pairs in ascending value order, NULLs left out: the values at the 0-based
    sorted positions floor(rn) and ceil(rn), rn = (n - 1) * q as DuckDB computes it, and rn's
    fraction."""
    upto = list(accumulate(count for _, count in histogram))  # how many values are <= each

    def at(index: int) -> int:
        return histogram[bisect_right(upto, index)][0]

    ranks = [float(upto[-1] - 1) * q for q in _QUANTILES]
    return [(at(math.floor(rn)), at(math.ceil(rn)), rn - math.floor(rn)) for rn in ranks]


def _histograms(
    conn: duckdb.DuckDBPyConnection, flt: UsageFilter
) -> tuple[int, dict[str, list[tuple[int, int]]]]:
    """Completed requests, and how often each latency and TTFT value occurs among them."""
    where, params = _where(flt)
    # One scan for both (reading status, a string, costs more than counting), two groupings:
    # by latency_ms (its NULL group keeps `completed` a count of every completed row), then
    # by ttft_ms (its NULL group is no value and left out).
    sql = f"""
        SELECT grouping(r.latency_ms) = 1 AS of_ttft, r.latency_ms, r.ttft_ms, count(*) AS n
        FROM requests r
        WHERE {where} AND r.status = 'completed'
        GROUP BY GROUPING SETS ((r.latency_ms), (r.ttft_ms))
        ORDER BY of_ttft, r.latency_ms NULLS FIRST, r.ttft_ms NULLS FIRST
    """
    with _perfect_hash_bits(conn, _HISTOGRAM_BITS):
        rows = conn.execute(sql, params).fetchall()
    histograms: dict[str, list[tuple[int, int]]] = {"latency": [], "ttft": []}
    completed = 0
    for of_ttft, latency, ttft, count in rows:
        value = ttft if of_ttft else latency
        completed += 0 if of_ttft else count
        if value is not None:
            histograms["ttft" if of_ttft else "latency"].append((value, count))
    return completed, histograms


def latency_percentiles(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> Percentiles:
    """p50/p95/p99 (quantile_cont, interpolated) of latency and TTFT over completed requests."""
    # Exactly quantile_cont's figures, at under half its cost over millions of rows: it gathers
    # every value and selects from them on one thread, where counting how often each value
    # occurs (whole milliseconds, some thousands distinct) is spread over every thread. The
    # interpolation between the two neighbouring values is left to quantile_cont itself, over
    # just those two with q = rn's fraction: the same arithmetic to the last bit, whether or
    # not DuckDB's build fuses its multiply-add (Python's own lo * (1 - d) + hi * d is not).
    completed, histograms = _histograms(conn, flt)
    neighbours = [pair for histogram in histograms.values() if histogram
                  for pair in _neighbours(histogram)]
    figures: list[float | None] = []
    if neighbours:
        sql = "SELECT " + ", ".join(
            ["list_aggregate(?::INTEGER[], 'quantile_cont', ?::DOUBLE)"] * len(neighbours))
        row = conn.execute(sql, [v for lo, hi, d in neighbours for v in ([lo, hi], d)]).fetchone()
        assert row is not None
        figures = list(row)
    values = iter(figures)
    return Percentiles(completed, *(
        next(values) if histogram else None
        for histogram in histograms.values() for _ in _QUANTILES))


def outcomes(conn: duckdb.DuckDBPyConnection, flt: UsageFilter) -> Outcomes:
    """Totals per status, with the error rate (failed / total) and cancel rate."""
    return outcomes_of(requests_over_time(conn, flt))


def outcomes_of(series: pd.DataFrame) -> Outcomes:
    """outcomes from requests_over_time's frame, whose buckets cover the same range: the tab
    has it already, and a scan of its own cost ~50 ms more at ten million rows."""
    return Outcomes(*(int(series[column].sum()) for column in
                      ("requests", "completed", "cancelled", "failed", "server_errors")))


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
        WITH present AS (SELECT r.user_id FROM requests r
                         WHERE {where} AND r.user_id IS NOT NULL GROUP BY r.user_id)
        SELECT p.user_id, {_USERNAME} AS username
        FROM present p LEFT JOIN users u ON u.id = p.user_id
        ORDER BY username, p.user_id
    """
    return [(int(uid), str(name)) for uid, name in conn.execute(sql, [*params, UNKNOWN_USER]).fetchall()]
