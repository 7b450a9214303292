"""The Usage tab: figure builders on known query results, what each caller sees, the tab's
build, and its Korean. (The scope rules themselves are tested in tests/usage/.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import gradio as gr
import pandas as pd
import pytest

from auth.passwords import PasswordHasher
from auth.service import AuthService
from auth.tokens import TokenService
from services import ServicesHolder
from settings import Settings
from storage import users
from storage.db import Database
from ui import usage
from ui import usage_charts as charts
from ui.i18n import EN, KO, headers
from ui.usage import ALL, UsageHandlers, build_usage_tab
from usage import Outcomes, Percentiles, UsageFilter, UsageService, UsageView

NOW = datetime(2030, 1, 2, 10, tzinfo=UTC)


def series() -> pd.DataFrame:
    buckets = pd.to_datetime([NOW - timedelta(hours=h) for h in (2, 1)]).tz_convert("UTC")
    return pd.DataFrame({
        "bucket": buckets, "requests": [3, 0], "completed": [1, 0], "cancelled": [1, 0],
        "failed": [1, 0], "input_tokens": [77, 0], "output_tokens": [13, 0], "tokens": [90, 0],
    })


def annotations(fig: Any) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_requests_figure_stacks_statuses_per_bucket_in_utc() -> None:
    fig = charts.requests_figure(series(), "hour")
    assert [trace.name for trace in fig.data] == ["completed", "cancelled", "failed"]
    assert [list(trace.y) for trace in fig.data] == [[1, 0], [1, 0], [1, 0]]
    assert list(fig.data[0].x) == [pd.Timestamp(2030, 1, 2, 8), pd.Timestamp(2030, 1, 2, 9)]
    assert fig.layout.barmode == "stack"
    assert fig.layout.title.text == "Requests per hour"
    assert annotations(fig) == []


def test_tokens_over_time_figure_shows_input_and_output() -> None:
    fig = charts.tokens_over_time_figure(series(), "minute")
    assert [(trace.name, list(trace.y)) for trace in fig.data] == [
        ("input", [77, 0]), ("output", [13, 0])]
    assert fig.layout.title.text == "Tokens per minute"


def test_time_figures_say_so_when_there_are_no_requests() -> None:
    empty = series().assign(requests=0, completed=0, cancelled=0, failed=0, input_tokens=0,
                            output_tokens=0, tokens=0)
    assert annotations(charts.requests_figure(empty, "hour")) == ["No requests in this range"]
    assert annotations(charts.tokens_over_time_figure(empty, "hour")) == ["No requests in this range"]


def test_tokens_by_model_figure_puts_the_largest_model_on_top() -> None:
    by_model = pd.DataFrame({"model": ["B", "A"], "requests": [3, 5], "input_tokens": [157, 66],
                             "output_tokens": [3, 76], "tokens": [160, 142]})
    fig = charts.tokens_by_model_figure(by_model)
    assert [(t.name, list(t.y), list(t.x)) for t in fig.data] == [
        ("input", ["B", "A"], [157, 66]), ("output", ["B", "A"], [3, 76])]
    assert list(fig.layout.yaxis.categoryarray) == ["A", "B"]  # drawn bottom-up


def test_tokens_by_user_figure_groups_users_past_the_top_into_others() -> None:
    by_user = pd.DataFrame({
        "user_id": [1, 2, 3, 4], "username": ["bob", "alice", "carol", "dan"],
        "requests": [3, 4, 1, 1], "input_tokens": [155, 67, 1, 4], "output_tokens": [5, 73, 1, 0],
        "tokens": [160, 140, 2, 4], "failed": [1, 0, 0, 0], "cancelled": [0, 1, 0, 0],
    })
    top = charts.top_users(by_user, top=2)
    assert [tuple(r) for r in top.itertuples(index=False)] == [
        ("bob", 155, 5, 160), ("alice", 67, 73, 140), ("others (2)", 5, 1, 6)]
    fig = charts.tokens_by_user_figure(by_user, top=2)
    assert list(fig.data[0].y) == ["bob", "alice", "others (2)"]
    assert list(fig.data[1].x) == [5, 73, 1]
    assert len(charts.top_users(by_user, top=10)) == 4


def test_latency_figure_groups_percentiles_of_latency_and_ttft() -> None:
    fig = charts.latency_figure(Percentiles(6, 250.0, 850.0, 970.0, 25.0, 47.5, 49.5))
    assert [(t.name, list(t.x), list(t.y)) for t in fig.data] == [
        ("latency", ["p50", "p95", "p99"], [250.0, 850.0, 970.0]),
        ("time to first token", ["p50", "p95", "p99"], [25.0, 47.5, 49.5])]
    assert fig.layout.title.text == "Latency, 6 completed requests"
    empty = charts.latency_figure(Percentiles(0, *[None] * 6))
    assert annotations(empty) == ["No completed requests in this range"]


def test_outcomes_figure_shows_rates_in_percent() -> None:
    fig = charts.outcomes_figure(Outcomes(total=8, completed=6, cancelled=1, failed=1, server_errors=1))
    assert list(fig.data[0].x) == ["error rate", "cancel rate", "5xx rate"]
    assert list(fig.data[0].y) == [12.5, 12.5, 12.5]
    assert list(fig.data[0].text) == ["12.5 %", "12.5 %", "12.5 %"]
    assert annotations(charts.outcomes_figure(Outcomes(0, 0, 0, 0, 0))) == ["No requests in this range"]


def test_tables_have_readable_columns_and_utc_times() -> None:
    slowest = pd.DataFrame({
        "request_id": ["r6"], "username": ["bob"], "model": ["B"], "status": ["failed"],
        "latency_ms": [5000], "ttft_ms": [float("nan")], "input_tokens": [50.0],
        "output_tokens": [float("nan")], "tokens": [50],
        "created_at": pd.to_datetime([datetime(2030, 1, 1, 12, 45, tzinfo=UTC)]).tz_convert("Asia/Seoul"),
    })
    table = charts.slowest_table(slowest)
    assert list(table.columns) == headers(charts.SLOWEST_KEYS.values())
    row = table.iloc[0]
    assert (row["Request"], row["Latency (ms)"], row["Input tokens"], row["Time (UTC)"]) == (
        "r6", 5000, 50, "2030-01-01 12:45:00")
    assert pd.isna(row["TTFT (ms)"]) and pd.isna(row["Output tokens"])
    heaviest = pd.DataFrame({"user_id": [2], "username": ["bob"], "requests": [3],
                             "input_tokens": [155], "output_tokens": [5], "tokens": [160],
                             "failed": [1], "cancelled": [0]})
    assert charts.heaviest_table(heaviest).values.tolist() == [["bob", 3, 160, 155, 5, 1, 0]]


def test_dropdown_choices_keep_a_selection_missing_from_the_range() -> None:
    assert usage.model_choices(["A"], "Z") == [("All models", ALL), ("A", "A"), ("Z", "Z")]
    assert usage.model_choices(["A"], ALL) == [("All models", ALL), ("A", "A")]
    assert usage.user_choices([(2, "bob")], "2") == [("All users", ALL), ("bob", "2")]
    assert usage.user_choices([(2, "bob")], "9") == [("All users", ALL), ("bob", "2"), ("user 9", "9")]


def test_summary_names_the_scope_and_the_key_numbers() -> None:
    flt = UsageFilter.last(timedelta(hours=24), now=NOW, scope_user_id=2)
    view = UsageView(flt=flt, series=series(), by_model=pd.DataFrame(),
                     percentiles=Percentiles(6, 250.0, 850.0, 970.0, 25.0, 47.5, 49.5),
                     outcomes=Outcomes(8, 6, 1, 1, 1), slowest=pd.DataFrame(), models=[])
    text = usage.summary_markdown(view)
    assert "2030-01-01 10:00 – 2030-01-02 10:00 UTC · your requests · all models" in text
    assert "**8** requests · **90** tokens" in text
    assert "error rate **12.50 %** · cancel rate **12.50 %**" in text
    assert "TTFT p50 **25 ms** · latency p95 **850 ms**" in text


@dataclass
class _Services:
    """The services the Usage tab uses, all real."""

    db: Database
    auth: AuthService
    usage: UsageService


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[ServicesHolder]:
    db = Database(tmp_path / "db.duckdb")
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=4)
    auth = AuthService(db, PasswordHasher(4), TokenService("s" * 32, 30), settings)
    ids = {name: db.call(lambda c, n=name, r=role: users.create(c, n, "h", r)).id
           for name, role in [("root", "admin"), ("alice", "user"), ("bob", "user")]}
    recent = datetime.now(UTC) - timedelta(hours=1)
    db.call(lambda c: c.executemany(
        "INSERT INTO requests (request_id, user_id, model, status, status_code, latency_ms,"
        " ttft_ms, input_tokens, output_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [["a1", ids["alice"], "A", "completed", 200, 100, 10, 1, 2, recent],
         ["b1", ids["bob"], "B", "completed", 200, 900, 90, 10, 20, recent],
         ["b2", ids["bob"], "B", "failed", 502, 50, None, 5, None, recent]]))
    services_holder = ServicesHolder()
    services_holder.set(_Services(db, auth, UsageService(db)))  # type: ignore[arg-type]
    yield services_holder
    db.close()


async def test_a_user_sees_only_their_own_requests_and_no_user_figures(
        holder: ServicesHolder) -> None:
    bob = holder.get().db.call(lambda c: users.get_by_username(c, "bob"))
    assert bob is not None
    out = await UsageHandlers(holder).refresh("24h", ALL, str(bob.id),
                                             gr.Request(username="alice"))
    model_dd, user_dd, summary, *_, by_user_plot, latency, outcomes, heaviest, slowest, _ = out
    assert list(slowest["Request"]) == ["a1"]
    assert latency.layout.title.text == "Latency, 1 completed request"  # not "1 ... requests"
    assert "**1** request · **3** tokens" in summary and "your requests" in summary
    assert user_dd.visible is False and by_user_plot.visible is False and heaviest.visible is False
    assert by_user_plot.value is None and heaviest.value["data"] == []
    assert model_dd.choices == [("All models", ALL), ("A", "A")]
    assert list(outcomes.data[0].y) == [0.0, 0.0, 0.0]


async def test_an_admin_sees_everyone_and_can_narrow_to_one_user(holder: ServicesHolder) -> None:
    handlers = UsageHandlers(holder)
    out = await handlers.refresh("24h", ALL, ALL, gr.Request(username="root"))
    user_dd, by_user_plot, heaviest, slowest = out[1], out[6], out[9], out[10]
    assert list(slowest["Request"]) == ["b1", "a1", "b2"]
    sent = gr.Dataframe(headers=headers(charts.SLOWEST_KEYS.values())).postprocess(slowest)
    assert sent.data[2][:6] == ["b2", "bob", "B", "failed", 50, None]  # no TTFT: sent as null
    assert user_dd.visible is True and by_user_plot.visible is True and heaviest.visible is True
    assert [label for label, _ in user_dd.choices] == ["All users", "alice", "bob"]
    bob_id = next(value for label, value in user_dd.choices if label == "bob")
    narrowed = await handlers.refresh("24h", "B", bob_id, gr.Request(username="root"))
    assert list(narrowed[10]["Request"]) == ["b1", "b2"]
    assert list(narrowed[8].data[0].y) == [50.0, 0.0, 50.0]


async def test_the_download_links_to_the_rows_the_tab_shows(holder: ServicesHolder) -> None:
    """Each refresh makes the tab's one-click download link: range, model and (for admins)
    user, through the app's own export route, no file (issue 12, defect 5)."""
    bob = holder.get().db.call(lambda c: users.get_by_username(c, "bob"))
    assert bob is not None
    handlers = UsageHandlers(holder)

    async def link(range_key: str | None, model: str, user: str, caller: str) -> gr.Button:
        button = (await handlers.refresh(range_key, model, user, gr.Request(username=caller)))[-1]
        assert isinstance(button, gr.Button)
        return button

    button = await link("7d", "B", str(bob.id), "root")
    path, _, query = str(button.link).partition("?")
    params = parse_qs(query)
    assert path == "api/usage/export" and button.visible is True
    assert (params["format"], params["model"], params["user"]) == (["csv"], ["B"], [str(bob.id)])
    start, end = (datetime.fromisoformat(params[k][0]) for k in ("from", "to"))
    assert end - start == timedelta(days=7) and start.tzinfo is not None

    theirs = await link(None, ALL, str(bob.id), "alice")
    assert "user" not in parse_qs(str(theirs.link).partition("?")[2]), "the route scopes alice"
    assert "model" not in parse_qs(str(theirs.link).partition("?")[2])


async def test_an_unknown_caller_is_refused(holder: ServicesHolder) -> None:
    with pytest.warns(UserWarning, match="Not authenticated"):  # a toast, outside an event
        shown = await UsageHandlers(holder).refresh("24h", ALL, ALL, gr.Request(username="ghost"))
    assert shown == gr.skip(), "nothing on the tab changes"


def test_usage_tab_builds_inside_blocks_with_private_events() -> None:
    """Its API endpoint, usage_summary, is registered with the others (ui/api_endpoints.py)."""
    with gr.Blocks() as demo, gr.Tabs():
        tab = build_usage_tab(ServicesHolder())
    assert isinstance(tab, gr.Tab)
    assert tab.label.key == "usage" and tab.visible is True  # type: ignore[union-attr]
    assert all(fn.api_visibility == "private" for fn in demo.fns.values())
    triggers = {event for fn in demo.fns.values() for _, event in fn.targets}
    assert {"select", "click", "input"} <= triggers


def test_the_range_radio_shows_translated_labels_for_stable_values() -> None:
    with gr.Blocks(), gr.Tabs():
        build_usage_tab(ServicesHolder())
        radio = next(b for b in gr.context.Context.root_block.blocks.values()  # type: ignore[union-attr]
                     if getattr(b, "elem_id", None) == "usage-range")
    assert [value for _, value in radio.choices] == ["24h", "7d", "30d"]
    assert [label.key for label, _ in radio.choices] == ["range_24h", "range_7d", "range_30d"]
    assert (EN["range_7d"], KO["range_7d"]) == ("Last 7 days", "최근 7일")


KOREAN = {"accept-language": "ko-KR,ko;q=0.9"}


async def test_a_korean_caller_gets_the_tab_in_korean(holder: ServicesHolder) -> None:
    out = await UsageHandlers(holder).refresh("24h", ALL, ALL,
                                             gr.Request(headers=KOREAN, username="root"))
    model_dd, user_dd, summary, requests_plot, *_ = out
    heaviest, slowest = out[9], out[10]
    assert model_dd.choices[0] == ("모든 모델", ALL) and user_dd.choices[0] == ("모든 사용자", ALL)
    assert "모든 사용자 · 모든 모델" in summary and "요청 **3**건" in summary
    assert requests_plot.layout.title.text == "시간당 요청"
    assert [trace.name for trace in out[7].data] == ["지연 시간", "첫 토큰까지 시간"]
    assert list(slowest.columns)[:2] == ["요청 ID", "사용자"]
    assert heaviest.value["headers"][:2] == ["사용자", "요청"]



def test_chart_legends_are_in_the_callers_language() -> None:
    by_model = pd.DataFrame({"model": ["B"], "requests": [3], "input_tokens": [157],
                             "output_tokens": [3], "tokens": [160]})
    percentiles = Percentiles(6, 250.0, 850.0, 970.0, 25.0, 47.5, 49.5)

    def legends(lang: str) -> list[list[str]]:
        figures = [charts.requests_figure(series(), "hour", lang),
                   charts.tokens_over_time_figure(series(), "hour", lang),
                   charts.tokens_by_model_figure(by_model, lang),
                   charts.latency_figure(percentiles, lang)]
        return [[trace.name for trace in fig.data] for fig in figures]

    assert legends("ko") == [["완료", "취소", "실패"], ["입력", "출력"], ["입력", "출력"],
                             ["지연 시간", "첫 토큰까지 시간"]]
    assert legends("en") == [["completed", "cancelled", "failed"], ["input", "output"],
                             ["input", "output"], ["latency", "time to first token"]]


async def test_the_gradio_api_returns_the_rest_summary_scoped_to_the_caller(
        holder: ServicesHolder) -> None:
    handlers = UsageHandlers(holder)
    mine = await handlers.summary_api("7d", None, None, gr.Request(username="alice"))
    assert mine["range"] == "7d" and mine["totals"]["requests"] == 1
    assert mine["by_user"] is None
    everyone = await handlers.summary_api(None, ALL, ALL, gr.Request(username="root"))
    assert everyone["range"] == "24h" and everyone["totals"]["requests"] == 3
    with pytest.raises(gr.Error, match="admin"):
        await handlers.summary_api("24h", None, "all", gr.Request(username="alice"))
    with pytest.raises(gr.Error, match="range"):
        await handlers.summary_api("1y", None, None, gr.Request(username="root"))


def test_axis_titles_rates_and_others_are_in_korean_for_a_korean_caller() -> None:
    """Issue 12, "Korean everywhere": what the charts write besides titles and legends."""
    by_model = pd.DataFrame({"model": ["B"], "requests": [3], "input_tokens": [157],
                             "output_tokens": [3], "tokens": [160]})
    requests_fig = charts.requests_figure(series(), "hour", "ko")
    tokens_fig = charts.tokens_over_time_figure(series(), "hour", "ko")
    assert (requests_fig.layout.xaxis.title.text, requests_fig.layout.yaxis.title.text) == (
        "시각 (UTC)", "요청 수")
    assert (tokens_fig.layout.xaxis.title.text, tokens_fig.layout.yaxis.title.text) == (
        "시각 (UTC)", "토큰")
    assert charts.tokens_by_model_figure(by_model, "ko").layout.xaxis.title.text == "토큰"
    outcomes = charts.outcomes_figure(Outcomes(8, 6, 1, 1, 1), "ko")
    assert list(outcomes.data[0].x) == ["오류율", "취소율", "5xx 비율"]
    assert outcomes.layout.yaxis.title.text == "전체 요청 대비 (%)"
    by_user = pd.DataFrame({"username": ["a", "b", "c"], "input_tokens": [3, 2, 1],
                            "output_tokens": [0, 0, 0], "tokens": [3, 2, 1]})
    assert list(charts.tokens_by_user_figure(by_user, top=1, lang="ko").data[0].y) == [
        "a", "기타 (2명)"]


def test_axis_titles_rates_and_others_in_english_stay_as_they_were() -> None:
    requests_fig = charts.requests_figure(series(), "hour")
    assert (requests_fig.layout.xaxis.title.text, requests_fig.layout.yaxis.title.text) == (
        "UTC", "requests")
    assert charts.tokens_over_time_figure(series(), "hour").layout.yaxis.title.text == "tokens"
    outcomes = charts.outcomes_figure(Outcomes(8, 6, 1, 1, 1))
    assert outcomes.layout.yaxis.title.text == "% of requests"
    by_user = pd.DataFrame({"username": ["a", "b", "c"], "input_tokens": [3, 2, 1],
                            "output_tokens": [0, 0, 0], "tokens": [3, 2, 1]})
    assert list(charts.tokens_by_user_figure(by_user, top=1).data[0].y) == ["a", "others (2)"]


async def test_a_korean_admin_reads_axis_titles_rates_and_statuses_in_korean(
        holder: ServicesHolder) -> None:
    out = await UsageHandlers(holder).refresh("24h", ALL, ALL,
                                             gr.Request(headers=KOREAN, username="root"))
    requests_plot, tokens_plot, by_model_plot, by_user_plot = out[3], out[4], out[5], out[6]
    outcomes, slowest = out[8], out[10]
    assert requests_plot.layout.yaxis.title.text == "요청 수"
    assert tokens_plot.layout.xaxis.title.text == "시각 (UTC)"
    assert by_model_plot.layout.xaxis.title.text == "토큰"
    by_user = json.loads(by_user_plot.value["plot"])  # a gr.Plot update holds it as JSON
    assert by_user["layout"]["xaxis"]["title"]["text"] == "토큰"
    assert list(outcomes.data[0].x) == ["오류율", "취소율", "5xx 비율"]
    assert dict(zip(slowest["요청 ID"], slowest["상태"], strict=True)) == {
        "b1": "완료", "a1": "완료", "b2": "실패"}
