"""The Usage tab: requests, tokens, latency and outcomes over a time range, as Plotly charts.

Every signed-in user sees it. Admins see everyone and may pick one user; everyone else sees
only their own requests. That scope is decided on the server from the caller's account at
each event, never from a value the page sends: a non-admin's user choice is ignored.

The figure builders below are pure functions of the storage/analytics results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from services import ServicesHolder
from storage import analytics
from storage.analytics import Bucket, Outcomes, Percentiles, UsageFilter
from storage.users import User
from ui.base import Handlers
from ui.i18n import t
from ui.usage_export import export_button

RANGES: dict[str, timedelta] = {
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
}
DEFAULT_RANGE = "Last 24 hours"
ALL = "__all__"  # the dropdowns' "no filter" value
TOP_USERS_IN_CHART = 15
HEAVIEST_LIMIT = 10
SLOWEST_LIMIT = 20

HEAVIEST_COLUMNS = ["User", "Requests", "Tokens", "Input tokens", "Output tokens", "Failed",
                    "Cancelled"]
SLOWEST_COLUMNS = ["Request", "User", "Model", "Status", "Latency (ms)", "TTFT (ms)",
                   "Input tokens", "Output tokens", "Tokens", "Time (UTC)"]

STATUS_COLORS = {"completed": "#2ca02c", "cancelled": "#ff7f0e", "failed": "#d62728"}
TOKEN_COLORS = {"input": "#1f77b4", "output": "#9467bd"}


@dataclass
class UsageView:
    """Everything one refresh shows. by_user and heaviest are None for non-admins."""

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


# ---- choosing the filter (server side) ---------------------------------------------------


def usage_filter(caller: User, range_key: str | None, model: str | None, user: str | None,
                 now: datetime | None = None) -> UsageFilter:
    """The filter for this caller. A non-admin is always scoped to themselves; the user
    choice counts only for admins."""
    span = RANGES.get(range_key or "", RANGES[DEFAULT_RANGE])
    chosen_model = model if model and model != ALL else None
    chosen_user: int | None = None
    if caller.is_admin and user not in (None, "", ALL):
        try:
            chosen_user = int(str(user))
        except ValueError:
            chosen_user = None
    return UsageFilter.last(span, now=now, model=chosen_model, user_id=chosen_user,
                            scope_user_id=None if caller.is_admin else caller.id)


# ---- figure builders (pure) --------------------------------------------------------------


def _naive_utc(values: pd.Series) -> list[Any]:
    """Plotly.js has no time zones: hand it UTC wall-clock times."""
    stamps = pd.to_datetime(values)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return list(stamps)


def _empty(fig: go.Figure, message: str = "No requests in this range") -> go.Figure:
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font={"size": 14})
    return fig


def _layout(fig: go.Figure, title: str, **kwargs: Any) -> go.Figure:
    fig.update_layout(title=title, margin={"l": 40, "r": 20, "t": 50, "b": 40}, height=340,
                      legend={"orientation": "h", "y": -0.2}, **kwargs)
    return fig


def requests_figure(series: pd.DataFrame, bucket: Bucket) -> go.Figure:
    """Requests per bucket, stacked by how they ended."""
    fig = go.Figure()
    x = _naive_utc(series["bucket"])
    for status in ("completed", "cancelled", "failed"):
        fig.add_bar(name=status, x=x, y=list(series[status]), marker_color=STATUS_COLORS[status])
    _layout(fig, f"Requests per {bucket}", barmode="stack", xaxis_title="UTC",
            yaxis_title="requests")
    return fig if int(series["requests"].sum()) else _empty(fig)


def tokens_over_time_figure(series: pd.DataFrame, bucket: Bucket) -> go.Figure:
    """Input and output tokens per bucket, stacked."""
    fig = go.Figure()
    x = _naive_utc(series["bucket"])
    fig.add_bar(name="input", x=x, y=list(series["input_tokens"]), marker_color=TOKEN_COLORS["input"])
    fig.add_bar(name="output", x=x, y=list(series["output_tokens"]),
                marker_color=TOKEN_COLORS["output"])
    _layout(fig, f"Tokens per {bucket}", barmode="stack", xaxis_title="UTC", yaxis_title="tokens")
    return fig if int(series["tokens"].sum()) else _empty(fig)


def _tokens_bars(labels: list[str], frame: pd.DataFrame, title: str) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(name="input", y=labels, x=list(frame["input_tokens"]), orientation="h",
                marker_color=TOKEN_COLORS["input"])
    fig.add_bar(name="output", y=labels, x=list(frame["output_tokens"]), orientation="h",
                marker_color=TOKEN_COLORS["output"])
    # Largest at the top: horizontal bars are drawn bottom-up.
    _layout(fig, title, barmode="stack", xaxis_title="tokens",
            yaxis={"categoryorder": "array", "categoryarray": list(reversed(labels))})
    return fig if len(frame) else _empty(fig)


def tokens_by_model_figure(by_model: pd.DataFrame) -> go.Figure:
    return _tokens_bars([str(m) for m in by_model["model"]], by_model, "Tokens by model")


def top_users(by_user: pd.DataFrame, top: int = TOP_USERS_IN_CHART) -> pd.DataFrame:
    """The `top` users with most tokens, the rest summed into one "others (n)" row."""
    ordered = by_user.sort_values(["tokens", "username"], ascending=[False, True], kind="stable")
    head = ordered.head(top)
    rest = ordered.iloc[top:]
    rows = [{"username": str(r.username), "input_tokens": int(r.input_tokens),
             "output_tokens": int(r.output_tokens), "tokens": int(r.tokens)}
            for r in head.itertuples()]
    if len(rest):
        rows.append({"username": f"others ({len(rest)})",
                     "input_tokens": int(rest["input_tokens"].sum()),
                     "output_tokens": int(rest["output_tokens"].sum()),
                     "tokens": int(rest["tokens"].sum())})
    return pd.DataFrame(rows, columns=["username", "input_tokens", "output_tokens", "tokens"])


def tokens_by_user_figure(by_user: pd.DataFrame, top: int = TOP_USERS_IN_CHART) -> go.Figure:
    shown = top_users(by_user, top)
    return _tokens_bars(list(shown["username"]), shown, "Tokens by user")


def latency_figure(percentiles: Percentiles) -> go.Figure:
    """p50/p95/p99 of latency and time to first token, completed requests only."""
    labels = ["p50", "p95", "p99"]
    latency = [percentiles.latency_p50, percentiles.latency_p95, percentiles.latency_p99]
    ttft = [percentiles.ttft_p50, percentiles.ttft_p95, percentiles.ttft_p99]
    fig = go.Figure()
    fig.add_bar(name="latency", x=labels, y=latency, marker_color="#1f77b4")
    fig.add_bar(name="time to first token", x=labels, y=ttft, marker_color="#17becf")
    _layout(fig, f"Latency, {percentiles.completed} completed requests", barmode="group",
            yaxis_title="ms")
    return fig if percentiles.completed else _empty(fig, "No completed requests in this range")


def outcomes_figure(outcomes: Outcomes) -> go.Figure:
    """Error rate (failed / all), cancel rate (cancelled / all) and 5xx rate, in percent."""
    labels = ["error rate", "cancel rate", "5xx rate"]
    values = [round(100 * outcomes.error_rate, 2), round(100 * outcomes.cancel_rate, 2),
              round(100 * outcomes.server_error_rate, 2)]
    fig = go.Figure()
    fig.add_bar(x=labels, y=values, marker_color=["#d62728", "#ff7f0e", "#8c564b"],
                text=[f"{v:g} %" for v in values], textposition="outside", showlegend=False)
    _layout(fig, f"Outcomes of {outcomes.total} requests", yaxis_title="% of requests",
            yaxis_rangemode="tozero")
    return fig if outcomes.total else _empty(fig)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def summary_markdown(view: UsageView) -> str:
    o, p, flt = view.outcomes, view.percentiles, view.flt
    scope = "your requests" if flt.scope_user_id is not None else (
        "one user" if flt.user_id is not None else "all users")
    model = f"model `{flt.model}`" if flt.model else "all models"
    return (
        f"{flt.start:%Y-%m-%d %H:%M} – {flt.end:%Y-%m-%d %H:%M} UTC · {scope} · {model}\n\n"
        f"**{o.total:,}** requests · **{int(view.series['tokens'].sum()):,}** tokens · "
        f"error rate **{100 * o.error_rate:.2f} %** · cancel rate **{100 * o.cancel_rate:.2f} %**"
        f" · TTFT p50 **{_ms(p.ttft_p50)}** · latency p95 **{_ms(p.latency_p95)}**"
    )


def heaviest_table(heaviest: pd.DataFrame) -> pd.DataFrame:
    table = heaviest[["username", "requests", "tokens", "input_tokens", "output_tokens", "failed",
                      "cancelled"]].copy()
    table.columns = pd.Index(HEAVIEST_COLUMNS)
    return table


def slowest_table(slowest: pd.DataFrame) -> pd.DataFrame:
    table = slowest[["request_id", "username", "model", "status", "latency_ms", "ttft_ms",
                     "input_tokens", "output_tokens", "tokens", "created_at"]].copy()
    stamps = pd.to_datetime(table["created_at"])
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC")
    table["created_at"] = stamps.dt.strftime("%Y-%m-%d %H:%M:%S")
    for column in ("latency_ms", "ttft_ms", "input_tokens", "output_tokens", "tokens"):
        table[column] = table[column].astype("Int64")
    table.columns = pd.Index(SLOWEST_COLUMNS)
    return table


def model_choices(models: list[str], selected: str | None) -> list[tuple[str, str]]:
    """The models present, keeping a chosen model that has no requests in the new range."""
    names = list(models)
    if selected and selected != ALL and selected not in names:
        names.append(selected)
    return [("All models", ALL), *((name, name) for name in names)]


def user_choices(users: list[tuple[int, str]], selected: str | None) -> list[tuple[str, str]]:
    choices = [("All users", ALL), *((name, str(uid)) for uid, name in users)]
    if selected and selected != ALL and selected not in {value for _, value in choices}:
        choices.append((f"user {selected}", selected))
    return choices


# ---- handlers ----------------------------------------------------------------------------


class UsageHandlers(Handlers):
    async def view(self, caller: User, flt: UsageFilter) -> UsageView:
        """Run the queries, each as its own call so queued writes interleave between them."""
        db = self.services.db
        view = UsageView(
            flt=flt,
            series=await db.run(lambda c: analytics.requests_over_time(c, flt)),
            by_model=await db.run(lambda c: analytics.tokens_by_model(c, flt)),
            percentiles=await db.run(lambda c: analytics.latency_percentiles(c, flt)),
            outcomes=await db.run(lambda c: analytics.outcomes(c, flt)),
            slowest=await db.run(lambda c: analytics.slowest_requests(c, flt, SLOWEST_LIMIT)),
            models=await db.run(lambda c: analytics.models_present(c, flt)),
        )
        if caller.is_admin:
            view.by_user = await db.run(lambda c: analytics.tokens_by_user(c, flt))
            view.heaviest = await db.run(lambda c: analytics.heaviest_users(c, flt, HEAVIEST_LIMIT))
            view.users = await db.run(lambda c: analytics.users_present(c, flt))
        return view

    async def refresh(self, range_key: str | None, model: str | None, user: str | None,
                      request: gr.Request) -> tuple[Any, ...]:
        caller = await self.user(request)
        flt = usage_filter(caller, range_key, model, user)
        view = await self.view(caller, flt)
        admin = caller.is_admin
        model_value = model if model else ALL
        user_value = user if admin and user else ALL
        bucket = flt.bucket
        return (
            gr.Dropdown(choices=model_choices(view.models, model_value), value=model_value),
            gr.Dropdown(choices=user_choices(view.users or [], user_value), value=user_value,
                        visible=admin),
            summary_markdown(view),
            requests_figure(view.series, bucket),
            tokens_over_time_figure(view.series, bucket),
            tokens_by_model_figure(view.by_model),
            gr.Plot(value=tokens_by_user_figure(view.by_user) if view.by_user is not None else None,
                    visible=admin),
            latency_figure(view.percentiles),
            outcomes_figure(view.outcomes),
            gr.Dataframe(value=heaviest_table(view.heaviest) if view.heaviest is not None
                         else pd.DataFrame(columns=HEAVIEST_COLUMNS), visible=admin),
            slowest_table(view.slowest),
        )


    async def download(self, range_key: str | None, model: str | None, user: str | None,
                       request: gr.Request) -> Any:
        """A link to the rows the tab shows as CSV (UTF-8 with BOM, for Excel); the route
        behind it checks the caller again at the download."""
        caller = await self.user(request)
        return export_button(usage_filter(caller, range_key, model, user))


def build_usage_tab(holder: ServicesHolder) -> gr.Tab:
    """The Usage tab; it loads when selected and on refresh or a filter change."""
    handlers = UsageHandlers(holder)
    with gr.Tab(t("usage"), id="usage-tab") as tab:
        with gr.Row():
            range_choice = gr.Radio(list(RANGES), value=DEFAULT_RANGE, label=t("time_range"),
                                    elem_id="usage-range", scale=3)
            # Custom values reach the handler, which scopes by the caller's role itself.
            model = gr.Dropdown(label=t("model"), choices=[("All models", ALL)], value=ALL,
                                allow_custom_value=True, elem_id="usage-model", scale=2)
            user = gr.Dropdown(label=t("user_filter"), choices=[("All users", ALL)], value=ALL,
                               allow_custom_value=True, visible=False, elem_id="usage-user",
                               scale=2)
            refresh = gr.Button(t("refresh"), elem_id="usage-refresh", scale=1)
            export = gr.Button(t("export_csv"), elem_id="usage-export", scale=1)
            download = gr.Button(t("download_csv"), elem_id="usage-download", visible=False,
                                 scale=1)
        summary = gr.Markdown(elem_id="usage-summary")
        with gr.Row():
            requests_plot = gr.Plot(label=t("requests"), elem_id="usage-requests")
            tokens_plot = gr.Plot(label=t("tokens_over_time"), elem_id="usage-tokens")
        with gr.Row():
            latency_plot = gr.Plot(label=t("latency"), elem_id="usage-latency")
            outcomes_plot = gr.Plot(label=t("outcomes"), elem_id="usage-outcomes")
        with gr.Row():
            by_model_plot = gr.Plot(label=t("tokens_by_model"), elem_id="usage-by-model")
            by_user_plot = gr.Plot(label=t("tokens_by_user"), visible=False, elem_id="usage-by-user")
        heaviest = gr.Dataframe(headers=HEAVIEST_COLUMNS, label=t("heaviest_users"),
                                interactive=False,
                                visible=False, elem_id="usage-heaviest")
        slowest = gr.Dataframe(headers=SLOWEST_COLUMNS, label=t("slowest_requests"),
                               interactive=False, elem_id="usage-slowest", wrap=True)
    inputs = [range_choice, model, user]
    outputs = [model, user, summary, requests_plot, tokens_plot, by_model_plot, by_user_plot,
               latency_plot, outcomes_plot, heaviest, slowest]
    gr.on([tab.select, refresh.click, range_choice.input, model.input, user.input],
          handlers.refresh, inputs, outputs, api_visibility="private",
          trigger_mode="always_last", concurrency_limit=2, concurrency_id="usage")
    export.click(handlers.download, inputs, download, api_visibility="private")
    # A link made for other filters would download other rows than the tab shows.
    gr.on([range_choice.input, model.input, user.input], lambda: gr.Button(visible=False),
          None, download, queue=False, api_visibility="private")
    return tab
