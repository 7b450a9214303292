"""The usage dashboard's queries against a real DuckDB file with a small, known set of requests.

The rows (times UTC, range under test: 2030-01-01 10:00 to 2030-01-02 10:00):

    name  user   model  status     code  latency  ttft  in   out   created_at
    r0    bob    C      completed  200   9000     900   1    1     01-01 09:59:59  (before start)
    r1    alice  A      completed  200   100      10    10   20    01-01 10:05
    r2    alice  A      completed  200   200      20    30   40    01-01 10:20
    r3    bob    B      completed  200   300      30    100  0     01-01 10:40
    r4    bob    A      completed  200   400      40    5    5     01-01 11:10
    r5    alice  B      completed  200   1000     50    7    3     01-01 12:30
    r6    bob    B      failed     502   5000     -     50   -     01-01 12:45
    r7    alice  A      cancelled  499   700      60    20   10    01-01 12:50
    r8    carol  A      completed  200   50       5     1    1     01-02 09:00
    r9    bob    C      completed  200   8000     800   1    1     01-02 10:00  (at the end: out)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

from storage import analytics, users
from storage.analytics import Outcomes, Percentiles, UsageFilter, choose_bucket
from storage.db import Database


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2030, 1, day, hour, minute, second, tzinfo=UTC)


START, END = at(1, 10), at(2, 10)

ROWS: list[tuple[Any, ...]] = [
    ("r0", "bob", "C", "completed", 200, 9000, 900, 1, 1, at(1, 9, 59, 59)),
    ("r1", "alice", "A", "completed", 200, 100, 10, 10, 20, at(1, 10, 5)),
    ("r2", "alice", "A", "completed", 200, 200, 20, 30, 40, at(1, 10, 20)),
    ("r3", "bob", "B", "completed", 200, 300, 30, 100, 0, at(1, 10, 40)),
    ("r4", "bob", "A", "completed", 200, 400, 40, 5, 5, at(1, 11, 10)),
    ("r5", "alice", "B", "completed", 200, 1000, 50, 7, 3, at(1, 12, 30)),
    ("r6", "bob", "B", "failed", 502, 5000, None, 50, None, at(1, 12, 45)),
    ("r7", "alice", "A", "cancelled", 499, 700, 60, 20, 10, at(1, 12, 50)),
    ("r8", "carol", "A", "completed", 200, 50, 5, 1, 1, at(2, 9)),
    ("r9", "bob", "C", "completed", 200, 8000, 800, 1, 1, at(2, 10)),
]


@pytest.fixture
def ids(db: Database) -> dict[str, int]:
    created = {name: db.call(lambda c, n=name, r=role: users.create(c, n, "hash", r)).id
               for name, role in [("alice", "user"), ("bob", "user"), ("carol", "admin")]}
    db.call(lambda c: c.executemany(
        "INSERT INTO requests (request_id, user_id, conv_id, model, status, status_code,"
        " latency_ms, ttft_ms, input_tokens, output_tokens, created_at)"
        " VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[rid, created[user], *rest] for rid, user, *rest in ROWS],
    ))
    return created


def query(db: Database, fn: Any, flt: UsageFilter, *args: Any) -> Any:
    return db.call(lambda c: fn(c, flt, *args))


def records(frame: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame[list(columns)].itertuples(index=False)]


def test_bucket_size_follows_the_length_of_the_range() -> None:
    assert choose_bucket(START, START + timedelta(hours=3)) == "minute"
    assert choose_bucket(START, START + timedelta(hours=3, seconds=1)) == "hour"
    assert choose_bucket(START, START + timedelta(days=1)) == "hour"
    assert choose_bucket(START, START + timedelta(days=1, seconds=1)) == "day"
    assert choose_bucket(START, START + timedelta(days=7)) == "day"  # per-day bars (issue 12)
    assert choose_bucket(START, START + timedelta(days=30)) == "day"


def test_filter_bounds_are_converted_to_utc_and_must_be_ordered() -> None:
    seoul = timezone(timedelta(hours=9))
    flt = UsageFilter(datetime(2030, 1, 1, 19, tzinfo=seoul), datetime(2030, 1, 2, 10))
    assert (flt.start, flt.end) == (START, END)
    assert flt.start.tzinfo == UTC and flt.end.tzinfo == UTC
    assert UsageFilter.last(timedelta(hours=24), now=END) == UsageFilter(START, END)
    with pytest.raises(ValueError, match="before it starts"):
        UsageFilter(END, START)


def test_requests_and_tokens_are_counted_per_hour_with_empty_hours_as_zero(
        db: Database, ids: dict[str, int]) -> None:
    series = query(db, analytics.requests_over_time, UsageFilter(START, END))
    assert list(series["bucket"]) == [pd.Timestamp(START + timedelta(hours=h)) for h in range(24)]
    assert str(series["bucket"].dt.tz) == "UTC"
    nonzero = records(series[series["requests"] > 0], "bucket", "requests", "completed",
                      "cancelled", "failed", "input_tokens", "output_tokens", "tokens")
    assert nonzero == [
        (pd.Timestamp(at(1, 10)), 3, 3, 0, 0, 140, 60, 200),
        (pd.Timestamp(at(1, 11)), 1, 1, 0, 0, 5, 5, 10),
        (pd.Timestamp(at(1, 12)), 3, 1, 1, 1, 77, 13, 90),
        (pd.Timestamp(at(2, 9)), 1, 1, 0, 0, 1, 1, 2),
    ]
    assert int(series["requests"].sum()) == 8


def test_a_short_range_is_counted_per_minute(db: Database, ids: dict[str, int]) -> None:
    series = query(db, analytics.requests_over_time, UsageFilter(at(1, 12), at(1, 13)))
    assert len(series) == 60
    nonzero = records(series[series["requests"] > 0], "bucket", "requests", "tokens")
    assert nonzero == [(pd.Timestamp(at(1, 12, 30)), 1, 10), (pd.Timestamp(at(1, 12, 45)), 1, 50),
                       (pd.Timestamp(at(1, 12, 50)), 1, 30)]


def test_a_long_range_is_counted_per_utc_day_whatever_the_session_time_zone(
        db: Database, ids: dict[str, int]) -> None:
    db.call(lambda c: c.execute("SET TimeZone = 'Asia/Seoul'"))
    series = query(db, analytics.requests_over_time, UsageFilter(at(1, 0), at(31, 0)))
    assert len(series) == 30
    assert list(series["bucket"])[:3] == [pd.Timestamp(at(d, 0)) for d in (1, 2, 3)]
    assert records(series[series["requests"] > 0], "bucket", "requests", "tokens") == [
        (pd.Timestamp(at(1, 0)), 8, 302), (pd.Timestamp(at(2, 0)), 2, 4)]


def test_range_includes_its_start_and_excludes_its_end(db: Database, ids: dict[str, int]) -> None:
    assert query(db, analytics.outcomes, UsageFilter(at(1, 9, 59, 59), END)).total == 9
    assert query(db, analytics.outcomes, UsageFilter(START, END)).total == 8
    assert query(db, analytics.outcomes, UsageFilter(START, END + timedelta(seconds=1))).total == 9


def test_tokens_are_summed_per_model_most_first(db: Database, ids: dict[str, int]) -> None:
    by_model = query(db, analytics.tokens_by_model, UsageFilter(START, END))
    assert records(by_model, "model", "requests", "input_tokens", "output_tokens", "tokens") == [
        ("B", 3, 157, 3, 160),
        ("A", 5, 66, 76, 142),
    ]


def test_tokens_are_summed_per_user_with_names(db: Database, ids: dict[str, int]) -> None:
    by_user = query(db, analytics.tokens_by_user, UsageFilter(START, END))
    assert records(by_user, "user_id", "username", "requests", "input_tokens", "output_tokens",
                   "tokens", "failed", "cancelled") == [
        (ids["bob"], "bob", 3, 155, 5, 160, 1, 0),
        (ids["alice"], "alice", 4, 67, 73, 140, 0, 1),
        (ids["carol"], "carol", 1, 1, 1, 2, 0, 0),
    ]


def test_heaviest_users_are_the_top_n_by_tokens(db: Database, ids: dict[str, int]) -> None:
    heaviest = query(db, analytics.heaviest_users, UsageFilter(START, END), 2)
    assert records(heaviest, "username", "requests", "tokens") == [("bob", 3, 160), ("alice", 4, 140)]


def test_heaviest_users_break_ties_by_requests_then_name() -> None:
    by_user = pd.DataFrame({"user_id": [3, 1, 2, 4], "username": ["c", "a", "b", "d"],
                            "requests": [1, 2, 2, 9], "tokens": [50, 50, 50, 10]})
    assert analytics.heaviest_of(by_user, 3)["username"].tolist() == ["a", "b", "c"]


def test_the_user_list_from_the_per_user_totals_is_the_one_queried(
        db: Database, ids: dict[str, int]) -> None:
    """The dashboard takes it from tokens_by_user's frame when no user is chosen."""
    for flt in (UsageFilter(START, END), UsageFilter(START, END, model="B")):
        by_user = query(db, analytics.tokens_by_user, flt)
        assert analytics.users_of(by_user) == query(db, analytics.users_present, flt)


def test_percentiles_interpolate_over_completed_requests_only(
        db: Database, ids: dict[str, int]) -> None:
    # Completed latencies 50 100 200 300 400 1000: position (n-1)p = 5p between sorted values.
    # p50: 2.5 -> 200 + .5 * 100; p95: 4.75 -> 400 + .75 * 600; p99: 4.95 -> 400 + .95 * 600.
    # TTFT 5 10 20 30 40 50: p50 20 + .5 * 10; p95 40 + .75 * 10; p99 40 + .95 * 10.
    found = query(db, analytics.latency_percentiles, UsageFilter(START, END))
    assert found == Percentiles(completed=6, latency_p50=pytest.approx(250.0),
                                latency_p95=pytest.approx(850.0), latency_p99=pytest.approx(970.0),
                                ttft_p50=pytest.approx(25.0), ttft_p95=pytest.approx(47.5),
                                ttft_p99=pytest.approx(49.5))


def test_error_and_cancel_rates_are_fractions_of_all_requests(
        db: Database, ids: dict[str, int]) -> None:
    found = query(db, analytics.outcomes, UsageFilter(START, END))
    assert found == Outcomes(total=8, completed=6, cancelled=1, failed=1, server_errors=1)
    assert (found.error_rate, found.cancel_rate, found.server_error_rate) == (0.125, 0.125, 0.125)


def test_slowest_requests_come_slowest_first_with_their_details(
        db: Database, ids: dict[str, int]) -> None:
    slowest = query(db, analytics.slowest_requests, UsageFilter(START, END), 3)
    assert records(slowest, "request_id", "username", "model", "status", "latency_ms") == [
        ("r6", "bob", "B", "failed", 5000), ("r5", "alice", "B", "completed", 1000),
        ("r7", "alice", "A", "cancelled", 700)]
    first = slowest.iloc[0]
    assert pd.isna(first["ttft_ms"]) and pd.isna(first["output_tokens"])
    assert (first["input_tokens"], first["tokens"]) == (50, 50)
    assert first["created_at"] == pd.Timestamp(at(1, 12, 45))
    second = slowest.iloc[1]
    assert (second["ttft_ms"], second["input_tokens"], second["output_tokens"], second["tokens"]) == (
        50, 7, 3, 10)


def test_model_filter_restricts_every_figure(db: Database, ids: dict[str, int]) -> None:
    flt = UsageFilter(START, END, model="A")
    assert query(db, analytics.outcomes, flt) == Outcomes(5, 4, 1, 0, 0)
    assert records(query(db, analytics.tokens_by_model, flt), "model", "tokens") == [("A", 142)]
    assert records(query(db, analytics.tokens_by_user, flt), "username", "tokens") == [
        ("alice", 130), ("bob", 10), ("carol", 2)]
    assert int(query(db, analytics.requests_over_time, flt)["tokens"].sum()) == 142
    # Completed on A: latencies 50 100 200 400 -> p50 = 100 + .5 * 100.
    assert query(db, analytics.latency_percentiles, flt).latency_p50 == pytest.approx(150.0)
    assert list(query(db, analytics.slowest_requests, flt, 2)["request_id"]) == ["r7", "r4"]


def test_user_filter_restricts_to_that_user(db: Database, ids: dict[str, int]) -> None:
    flt = UsageFilter(START, END, user_id=ids["bob"])
    assert query(db, analytics.outcomes, flt) == Outcomes(3, 2, 0, 1, 1)
    assert records(query(db, analytics.tokens_by_model, flt), "model", "tokens") == [
        ("B", 150), ("A", 10)]


def test_scope_overrides_the_user_choice(db: Database, ids: dict[str, int]) -> None:
    flt = UsageFilter(START, END, user_id=ids["bob"], scope_user_id=ids["alice"])
    assert query(db, analytics.outcomes, flt) == Outcomes(4, 3, 1, 0, 0)
    assert records(query(db, analytics.tokens_by_user, flt), "username", "tokens") == [
        ("alice", 140)]
    assert records(query(db, analytics.heaviest_users, flt, 10), "username") == [("alice",)]
    assert set(query(db, analytics.slowest_requests, flt, 20)["username"]) == {"alice"}
    assert int(query(db, analytics.requests_over_time, flt)["requests"].sum()) == 4
    assert query(db, analytics.users_present, flt) == [(ids["alice"], "alice")]
    # Completed for alice: latencies 100 200 1000 -> p50 200.
    assert query(db, analytics.latency_percentiles, flt).latency_p50 == pytest.approx(200.0)


def test_dropdown_lists_ignore_their_own_choice_but_follow_the_others(
        db: Database, ids: dict[str, int]) -> None:
    everyone = [(ids["alice"], "alice"), (ids["bob"], "bob"), (ids["carol"], "carol")]
    # Every model seen, also one used only outside the range (C): it can be picked to see that
    # it had no requests there (issue 12).
    assert query(db, analytics.models_present, UsageFilter(START, END, model="A")) == [
        "A", "B", "C"]
    assert query(db, analytics.users_present, UsageFilter(START, END, user_id=ids["carol"])) == everyone
    # The other filter still applies: carol used only A, only alice and bob used B.
    assert query(db, analytics.models_present, UsageFilter(START, END, user_id=ids["carol"])) == ["A"]
    assert query(db, analytics.users_present, UsageFilter(START, END, model="B")) == everyone[:2]
    # And the caller's scope always applies.
    scoped = UsageFilter(START, END, scope_user_id=ids["carol"])
    assert query(db, analytics.models_present, scoped) == ["A"]
    assert query(db, analytics.users_present, scoped) == [(ids["carol"], "carol")]


def test_an_empty_range_gives_zeros_and_no_percentiles(db: Database, ids: dict[str, int]) -> None:
    flt = UsageFilter(at(5, 0), at(6, 0))
    assert query(db, analytics.outcomes, flt) == Outcomes(0, 0, 0, 0, 0)
    assert query(db, analytics.outcomes, flt).error_rate == 0.0
    assert query(db, analytics.latency_percentiles, flt) == Percentiles(0, *[None] * 6)
    series = query(db, analytics.requests_over_time, flt)
    assert len(series) == 24 and int(series["requests"].sum()) == 0
    assert query(db, analytics.tokens_by_model, flt).empty
    assert query(db, analytics.tokens_by_user, flt).empty
    assert query(db, analytics.slowest_requests, flt, 5).empty
    assert query(db, analytics.models_present, flt) == ["A", "B", "C"], "models seen at any time"


def test_requests_without_a_model_or_known_user_are_labelled(db: Database, ids: dict[str, int]) -> None:
    db.call(lambda c: c.execute(
        "INSERT INTO requests (request_id, user_id, model, status, status_code, latency_ms,"
        " input_tokens, output_tokens, created_at) VALUES ('x', NULL, NULL, 'completed', 200,"
        " 99999, 4, 4, ?)", [at(1, 15)]))
    flt = UsageFilter(START, END)
    assert ("(unknown)", 8) in records(query(db, analytics.tokens_by_model, flt), "model", "tokens")
    assert ("(unknown)", 8) in records(query(db, analytics.tokens_by_user, flt), "username", "tokens")
    assert records(query(db, analytics.slowest_requests, flt, 1), "request_id", "username", "model") == [
        ("x", "(unknown)", "(unknown)")]
    assert query(db, analytics.models_present, flt) == ["A", "B", "C"]  # not "(unknown)"


def _random_requests(db: Database, user_id: int, count: int, seed: float) -> None:
    """`count` requests over 2030-01-01, with repeated latencies, NULL TTFTs and every status."""
    db.call(lambda c: c.execute("SELECT setseed(?)", [seed]))
    db.call(lambda c: c.execute(
        "INSERT INTO requests (request_id, user_id, status, status_code, latency_ms, ttft_ms,"
        " input_tokens, output_tokens, created_at)"
        " SELECT 'p' || i, ?, CASE WHEN random() < 0.1 THEN 'failed' ELSE 'completed' END, 200,"
        "        (random() * random() * 90000)::INTEGER,"
        "        CASE WHEN random() < 0.2 THEN NULL ELSE (random() * 3000)::INTEGER END,"
        "        (random() * 100)::INTEGER, NULL,"
        "        ?::TIMESTAMPTZ + to_microseconds((random() * 86400e6)::BIGINT)"
        " FROM range(?) t(i)", [user_id, at(1, 0), count]))


@pytest.mark.parametrize("count", [1, 2, 3, 7, 100, 2501])
def test_percentiles_are_exactly_duckdbs_quantile_cont(db: Database, count: int) -> None:
    """latency_percentiles counts each value instead of calling quantile_cont: the figures must
    be the very same doubles, whatever the number of rows and their ties."""
    user = db.call(lambda c: users.create(c, "p", "hash", "user")).id
    _random_requests(db, user, count, 0.25)
    flt = UsageFilter(at(1, 0), at(2, 0))
    expected = db.call(lambda c: c.execute(
        "SELECT count(*), quantile_cont(latency_ms, [0.5, 0.95, 0.99]),"
        "       quantile_cont(ttft_ms, [0.5, 0.95, 0.99])"
        " FROM requests WHERE status = 'completed'").fetchone())
    assert expected is not None
    completed, latency, ttft = expected
    found = query(db, analytics.latency_percentiles, flt)
    lat = list(latency) if latency is not None else [None] * 3
    first = list(ttft) if ttft is not None else [None] * 3
    assert found == Percentiles(completed, *lat, *first)


def test_percentiles_leave_the_hash_table_setting_as_it_was(db: Database) -> None:
    db.call(lambda c: c.execute("SET perfect_ht_threshold = 13"))
    query(db, analytics.latency_percentiles, UsageFilter(START, END))
    assert db.call(lambda c: c.execute(
        "SELECT current_setting('perfect_ht_threshold')").fetchone()) == (13,)


@pytest.mark.parametrize(("start", "span"), [
    (datetime(2030, 1, 1, 3, 17, 29, 1, tzinfo=UTC), timedelta(hours=2, minutes=59)),
    (datetime(2030, 1, 1, 0, 0, tzinfo=UTC), timedelta(hours=3)),
    (datetime(2029, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), timedelta(hours=24)),
    (datetime(2029, 12, 31, 13, 30, tzinfo=UTC), timedelta(days=7)),
])
def test_buckets_are_duckdbs_time_bucket_of_each_request(
    db: Database, start: datetime, span: timedelta
) -> None:
    """requests_over_time numbers buckets by integer division: they must be time_bucket's."""
    user = db.call(lambda c: users.create(c, "b", "hash", "user")).id
    _random_requests(db, user, 3000, 0.5)
    flt = UsageFilter(start, start + span)
    width = analytics.BUCKET_WIDTHS[flt.bucket]
    expected = db.call(lambda c: c.execute(
        "SELECT time_bucket(?::INTERVAL, make_timestamp(epoch_us(created_at))) AS b, count(*)"
        " FROM requests WHERE created_at >= ? AND created_at < ? GROUP BY 1 ORDER BY 1",
        [width, flt.start, flt.end]).fetchall())
    series = query(db, analytics.requests_over_time, flt)
    found = [(row.bucket.tz_localize(None).to_pydatetime(), row.requests)
             for row in series.itertuples() if row.requests]
    assert found == expected
    assert series["bucket"].iloc[0] <= pd.Timestamp(flt.start) < series["bucket"].iloc[0] + width
    assert series["bucket"].iloc[-1] < pd.Timestamp(flt.end) <= series["bucket"].iloc[-1] + width
    assert (series["bucket"].diff().dropna() == width).all()
