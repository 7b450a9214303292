"""What the Usage tab draws: Plotly figures and tables, pure functions of the dashboard's data.

Titles, messages and column headers are in the caller's language (`lang`, "en" or "ko")."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ui.i18n import counted, headers, outcome_text, text
from usage import Bucket, Outcomes, Percentiles

TOP_USERS_IN_CHART = 15
STATUS_COLORS = {"completed": "#2ca02c", "cancelled": "#ff7f0e", "failed": "#d62728"}
TOKEN_COLORS = {"input": "#1f77b4", "output": "#9467bd"}

# i18n keys of the tables' headers, by the query's column.
HEAVIEST_KEYS = {"username": "usage_col_user", "requests": "usage_col_requests",
                 "tokens": "usage_col_tokens", "input_tokens": "usage_col_input",
                 "output_tokens": "usage_col_output", "failed": "usage_col_failed",
                 "cancelled": "usage_col_cancelled"}
SLOWEST_KEYS = {"request_id": "usage_col_request", "username": "usage_col_user",
                "model": "usage_col_model", "status": "usage_col_status",
                "latency_ms": "usage_col_latency", "ttft_ms": "usage_col_ttft",
                "input_tokens": "usage_col_input", "output_tokens": "usage_col_output",
                "tokens": "usage_col_tokens", "created_at": "usage_col_time"}


def _naive_utc(values: pd.Series) -> list[Any]:
    """Plotly.js has no time zones: hand it UTC wall-clock times."""
    stamps = pd.to_datetime(values)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return list(stamps)


def _empty(fig: go.Figure, lang: str, key: str = "usage_no_requests") -> go.Figure:
    fig.add_annotation(text=text(key, lang), showarrow=False, xref="paper", yref="paper",
                       x=0.5, y=0.5, font={"size": 14})
    return fig


def _layout(fig: go.Figure, title: str, **kwargs: Any) -> go.Figure:
    # The legend under the axis's dates and title, not over them (issue 12).
    fig.update_layout(title=title, margin={"l": 40, "r": 20, "t": 50, "b": 90}, height=370,
                      legend={"orientation": "h", "yanchor": "top", "y": -0.38}, **kwargs)
    return fig


def requests_figure(series: pd.DataFrame, bucket: Bucket, lang: str = "en") -> go.Figure:
    """Requests per bucket, stacked by how they ended."""
    fig = go.Figure()
    x = _naive_utc(series["bucket"])
    for status in ("completed", "cancelled", "failed"):
        fig.add_bar(name=text(f"usage_trace_{status}", lang), x=x, y=list(series[status]),
                    marker_color=STATUS_COLORS[status])
    _layout(fig, text(f"usage_requests_per_{bucket}", lang), barmode="stack",
            xaxis_title=text("usage_axis_time", lang), yaxis_title=text("usage_axis_requests", lang))
    return fig if int(series["requests"].sum()) else _empty(fig, lang)


def _add_token_bars(fig: go.Figure, frame: pd.DataFrame, along: list[Any], lang: str,
                    horizontal: bool = False) -> None:
    """Bars of input and of output tokens, one of each per entry of `along`."""
    for side in ("input", "output"):
        tokens = list(frame[f"{side}_tokens"])
        axes: dict[str, Any] = ({"y": along, "x": tokens, "orientation": "h"} if horizontal
                                else {"x": along, "y": tokens})
        fig.add_bar(name=text(f"usage_trace_{side}", lang), marker_color=TOKEN_COLORS[side], **axes)


def tokens_over_time_figure(series: pd.DataFrame, bucket: Bucket, lang: str = "en") -> go.Figure:
    """Input and output tokens per bucket, stacked."""
    fig = go.Figure()
    _add_token_bars(fig, series, _naive_utc(series["bucket"]), lang)
    _layout(fig, text(f"usage_tokens_per_{bucket}", lang), barmode="stack",
            xaxis_title=text("usage_axis_time", lang), yaxis_title=text("usage_axis_tokens", lang))
    return fig if int(series["tokens"].sum()) else _empty(fig, lang)


def _tokens_bars(labels: list[str], frame: pd.DataFrame, title: str, lang: str) -> go.Figure:
    fig = go.Figure()
    _add_token_bars(fig, frame, labels, lang, horizontal=True)
    # Largest at the top: horizontal bars are drawn bottom-up.
    _layout(fig, title, barmode="stack", xaxis_title=text("usage_axis_tokens", lang),
            yaxis={"categoryorder": "array", "categoryarray": list(reversed(labels))})
    return fig if len(frame) else _empty(fig, lang)


def tokens_by_model_figure(by_model: pd.DataFrame, lang: str = "en") -> go.Figure:
    return _tokens_bars([str(m) for m in by_model["model"]], by_model,
                        text("tokens_by_model", lang), lang)


def top_users(by_user: pd.DataFrame, top: int = TOP_USERS_IN_CHART,
              lang: str = "en") -> pd.DataFrame:
    """The `top` users with most tokens, the rest summed into one "others (n)" row."""
    ordered = by_user.sort_values(["tokens", "username"], ascending=[False, True], kind="stable")
    head = ordered.head(top)
    rest = ordered.iloc[top:]
    rows = [{"username": str(r.username), "input_tokens": int(r.input_tokens),
             "output_tokens": int(r.output_tokens), "tokens": int(r.tokens)}
            for r in head.itertuples()]
    if len(rest):
        rows.append({"username": text("usage_others", lang, n=len(rest)),
                     "input_tokens": int(rest["input_tokens"].sum()),
                     "output_tokens": int(rest["output_tokens"].sum()),
                     "tokens": int(rest["tokens"].sum())})
    return pd.DataFrame(rows, columns=["username", "input_tokens", "output_tokens", "tokens"])


def tokens_by_user_figure(by_user: pd.DataFrame, top: int = TOP_USERS_IN_CHART,
                          lang: str = "en") -> go.Figure:
    shown = top_users(by_user, top, lang)
    return _tokens_bars(list(shown["username"]), shown, text("tokens_by_user", lang), lang)


def latency_figure(percentiles: Percentiles, lang: str = "en") -> go.Figure:
    """p50/p95/p99 of latency and time to first token, completed requests only."""
    labels = ["p50", "p95", "p99"]
    latency = [percentiles.latency_p50, percentiles.latency_p95, percentiles.latency_p99]
    ttft = [percentiles.ttft_p50, percentiles.ttft_p95, percentiles.ttft_p99]
    fig = go.Figure()
    fig.add_bar(name=text("usage_trace_latency", lang), x=labels, y=latency, marker_color="#1f77b4")
    fig.add_bar(name=text("usage_trace_ttft", lang), x=labels, y=ttft, marker_color="#17becf")
    done = percentiles.completed
    _layout(fig, counted("usage_latency_title", done, lang, n=done), barmode="group",
            yaxis_title="ms")
    return fig if percentiles.completed else _empty(fig, lang, "usage_no_completed")


def outcomes_figure(outcomes: Outcomes, lang: str = "en") -> go.Figure:
    """Error rate (failed / all), cancel rate (cancelled / all) and 5xx rate, in percent."""
    labels = [text(f"usage_rate_{rate}", lang) for rate in ("error", "cancel", "5xx")]
    values = [round(100 * outcomes.error_rate, 2), round(100 * outcomes.cancel_rate, 2),
              round(100 * outcomes.server_error_rate, 2)]
    fig = go.Figure()
    fig.add_bar(x=labels, y=values, marker_color=["#d62728", "#ff7f0e", "#8c564b"],
                text=[f"{v:g} %" for v in values], textposition="outside", showlegend=False)
    _layout(fig, counted("usage_outcomes_title", outcomes.total, lang, n=outcomes.total),
            yaxis_title=text("usage_axis_share", lang), yaxis_rangemode="tozero")
    return fig if outcomes.total else _empty(fig, lang)


def heaviest_table(heaviest: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    table = heaviest[list(HEAVIEST_KEYS)].copy()
    table.columns = pd.Index(headers(HEAVIEST_KEYS.values(), lang))
    return table


def slowest_table(slowest: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    table = slowest[list(SLOWEST_KEYS)].copy()
    stamps = pd.to_datetime(table["created_at"])
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC")
    table["created_at"] = stamps.dt.strftime("%Y-%m-%d %H:%M:%S")
    table["status"] = [outcome_text(str(status), lang) for status in table["status"]]
    for column in ("latency_ms", "ttft_ms", "input_tokens", "output_tokens", "tokens"):
        table[column] = table[column].astype("Int64")
    table.columns = pd.Index(headers(SLOWEST_KEYS.values(), lang))
    return table
