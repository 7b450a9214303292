"""The Usage tab: requests, tokens, latency and outcomes over a time range, as Plotly charts,
and the same figures as a Gradio API endpoint (usage_summary).

Every signed-in user sees it. Admins see everyone and may pick one user; everyone else sees
only their own requests. The usage service decides that scope from the caller's account at
each event, never from a value the page sends: a non-admin's user choice is ignored.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from services import ServicesHolder
from ui import usage_charts as charts
from ui.base import Handlers, api_errors, returns, ui_errors
from ui.i18n import counted, headers, request_language, t, text
from ui.usage_export import export_button
from usage import ALL, DEFAULT_RANGE, RANGES, UsageView


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def summary_markdown(view: UsageView, lang: str = "en") -> str:
    o, p, flt = view.outcomes, view.percentiles, view.flt
    scope = "usage_scope_self" if flt.scope_user_id is not None else (
        "usage_scope_one" if flt.user_id is not None else "usage_scope_all")
    model = (text("usage_model_one", lang, model=flt.model) if flt.model
             else text("usage_model_all", lang))
    numbers = counted("usage_summary", o.total, lang, requests=f"{o.total:,}",
                      tokens=f"{int(view.series['tokens'].sum()):,}",
                      error=f"{100 * o.error_rate:.2f} %",
                      cancel=f"{100 * o.cancel_rate:.2f} %",
                      ttft=_ms(p.ttft_p50), latency=_ms(p.latency_p95))
    return (f"{flt.start:%Y-%m-%d %H:%M} – {flt.end:%Y-%m-%d %H:%M} UTC · {text(scope, lang)}"
            f" · {model}\n\n{numbers}")


def model_choices(models: list[str], selected: str | None,
                  lang: str = "en") -> list[tuple[str, str]]:
    """The models seen (at any time), keeping a chosen one even if it never had requests."""
    names = list(models)
    if selected and selected != ALL and selected not in names:
        names.append(selected)
    return [(text("usage_all_models", lang), ALL), *((name, name) for name in names)]


def user_choices(users: list[tuple[int, str]], selected: str | None,
                 lang: str = "en") -> list[tuple[str, str]]:
    choices = [(text("usage_all_users", lang), ALL), *((name, str(uid)) for uid, name in users)]
    if selected and selected != ALL and selected not in {value for _, value in choices}:
        choices.append((text("usage_user_n", lang, id=selected), selected))
    return choices


def tab_outputs(view: UsageView, admin: bool, model: str, user: str, lang: str) -> tuple[Any, ...]:
    """The tab's outputs for one view, in build_usage_tab's `outputs` order; the download link
    is for exactly the rows the view shows."""
    bucket = view.flt.bucket
    by_user = (charts.tokens_by_user_figure(view.by_user, lang=lang)
               if view.by_user is not None else None)
    heaviest = (charts.heaviest_table(view.heaviest, lang) if view.heaviest is not None
                else pd.DataFrame(columns=headers(charts.HEAVIEST_KEYS.values(), lang)))
    return (
        gr.Dropdown(choices=model_choices(view.models, model, lang), value=model),
        gr.Dropdown(choices=user_choices(view.users or [], user, lang), value=user,
                    visible=admin),
        summary_markdown(view, lang),
        charts.requests_figure(view.series, bucket, lang),
        charts.tokens_over_time_figure(view.series, bucket, lang),
        charts.tokens_by_model_figure(view.by_model, lang),
        gr.Plot(value=by_user, visible=admin),
        charts.latency_figure(view.percentiles, lang),
        charts.outcomes_figure(view.outcomes, lang),
        gr.Dataframe(value=heaviest, visible=admin),
        charts.slowest_table(view.slowest, lang),
        export_button(view.flt),
    )


class UsageHandlers(Handlers):
    @ui_errors
    async def refresh(self, range_key: str | None, model: str | None, user: str | None,
                      request: gr.Request) -> tuple[Any, ...]:
        caller = await self.user(request)
        view = await self.services.usage.dashboard(caller, range_key, model, user, lenient=True)
        admin = caller.is_admin
        return tab_outputs(view, admin, model or ALL, user if admin and user else ALL,
                           request_language(request))

    @returns(dict)
    @api_errors
    async def summary_api(self, range: str | None = DEFAULT_RANGE, model: str | None = None,
                          user: str | None = None,
                          request: gr.Request | None = None) -> dict[str, Any]:
        """The Usage tab's figures as JSON, scoped to you: totals, error and cancel rates,
        latency and TTFT percentiles, requests and tokens per bucket, tokens by model and the
        slowest requests; for admins also tokens by user and the heaviest users. Times are
        ISO 8601 in UTC.

        Args:
            range: "24h", "7d" or "30d", ending now (empty: "24h").
            model: Only this model's requests (empty: every model).
            user: Only this user's id (empty: admins get everyone's; others only their own).

        Returns:
            summary: The same object as GET /api/usage/summary.
        """
        assert request is not None
        caller = await self.user(request)
        return await self.services.usage.summary(caller, range, model, user)


def _figures() -> list[Any]:
    """The summary, charts and tables, in tab_outputs' order after the two dropdowns."""
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
    heaviest = gr.Dataframe(headers=headers(charts.HEAVIEST_KEYS.values()),
                            label=t("heaviest_users"), interactive=False, visible=False,
                            elem_id="usage-heaviest")
    slowest = gr.Dataframe(headers=headers(charts.SLOWEST_KEYS.values()),
                           label=t("slowest_requests"), interactive=False,
                           elem_id="usage-slowest", wrap=True)
    return [summary, requests_plot, tokens_plot, by_model_plot, by_user_plot, latency_plot,
            outcomes_plot, heaviest, slowest]


def build_usage_tab(holder: ServicesHolder) -> gr.Tab:
    """The Usage tab; it loads when selected and on refresh or a filter change."""
    handlers = UsageHandlers(holder)
    with gr.Tab(t("usage"), id="usage-tab") as tab:
        with gr.Row():
            # Labels are translated in the browser; values are no i18n keys (test_i18n_keys).
            range_choice = gr.Radio([(t(f"range_{key}"), key) for key in RANGES],
                                    value=DEFAULT_RANGE, label=t("time_range"),
                                    elem_id="usage-range", scale=3)
            # Custom values reach the handler, which scopes by the caller's role itself.
            model = gr.Dropdown(label=t("model"), choices=[(t("usage_all_models"), ALL)],
                                value=ALL, allow_custom_value=True, elem_id="usage-model",
                                scale=2)
            user = gr.Dropdown(label=t("user_filter"), choices=[(t("usage_all_users"), ALL)],
                               value=ALL, allow_custom_value=True, visible=False,
                               elem_id="usage-user", scale=2)
            refresh = gr.Button(t("refresh"), elem_id="usage-refresh", scale=1)
            # One click: a link to the CSV of what the tab shows (UTF-8 with BOM, for Excel),
            # made with every refresh; the route behind it checks the caller again.
            download = gr.Button(t("download_csv"), elem_id="usage-download", visible=False,
                                 scale=1)
        figures = _figures()
    inputs = [range_choice, model, user]
    gr.on([tab.select, refresh.click, range_choice.input, model.input, user.input],
          handlers.refresh, inputs, [model, user, *figures, download], api_visibility="private",
          trigger_mode="always_last", concurrency_limit=2, concurrency_id="usage")
    # A link made for other filters would download other rows than the tab shows: hidden
    # until the refresh for the new ones lands.
    gr.on([range_choice.input, model.input, user.input], lambda: gr.Button(visible=False),
          None, download, queue=False, api_visibility="private")
    return tab
