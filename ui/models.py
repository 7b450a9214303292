"""The admin-only Models tab: profiles and their fit, the engine's state and log, switching.

Every handler checks the caller's role on the server: hiding the tab is not the protection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import gradio as gr
import pandas as pd

from engine.fit import FitVerdict, summary
from engine.manager import EngineManager
from engine.profiles import Profile
from engine.progress import follow
from services import ServicesHolder
from ui.base import Handlers, ui_errors
from ui.i18n import fit_templates, request_language, state_text, t, text

PROFILE_COLUMN_KEYS = ["models_col_active", "models_col_profile", "models_col_name",
                       "models_col_engine", "models_col_tp", "models_col_max_len", "models_col_fit"]


def profile_columns(lang: str = "en") -> list[str]:
    """The profiles table's headers in the caller's language."""
    return [text(key, lang) for key in PROFILE_COLUMN_KEYS]


PROFILE_COLUMNS = profile_columns()  # English, as the table starts before its first load


class ModelHandlers(Handlers):
    poll_interval_s = 0.5  # how often a switch's or restart's progress is looked at

    @property
    def engine(self) -> EngineManager:
        return self.services.engine

    @ui_errors
    async def profiles_table(self, request: gr.Request) -> tuple[pd.DataFrame, Any, Any]:
        """The profiles, the active one first, then those that fit; the switch menu offers
        the ones that fit, and "switch anyway" starts unticked."""
        await self.admin(request)
        lang = request_language(request)
        engine = self.engine
        verdicts = self._verdicts()
        rows = [["●" if profile.id == engine.profile.id else "", profile.id, profile.name,
                 profile.engine, profile.tensor_parallel_size, profile.max_model_len,
                 summary(verdict, fit_templates(lang))] for profile, verdict in verdicts]
        return (pd.DataFrame(rows, columns=profile_columns(lang)),
                gr.Dropdown(choices=_menu(verdicts, False, lang), value=engine.profile.id),
                gr.Checkbox(value=False))

    @ui_errors
    async def switch_choices(self, override_fit: bool, request: gr.Request) -> Any:
        """The switch menu: the profiles that fit, or, with "switch anyway" ticked, every
        profile, those that do not fit saying why."""
        await self.admin(request)
        # Only the choices: the profile picked meanwhile stays picked (the switch refuses one
        # that does not fit without the box ticked).
        return gr.update(choices=_menu(self._verdicts(), bool(override_fit),
                                       request_language(request)))

    def _verdicts(self) -> list[tuple[Profile, FitVerdict]]:
        """Every profile with its fit, the active one first, then those that fit."""
        engine = self.engine
        verdicts = [(profile, engine.fit(profile)) for profile in engine.profiles.values()]
        return sorted(verdicts, key=lambda pv: (pv[0].id != engine.profile.id, not pv[1].fits))

    @ui_errors
    async def status(self, request: gr.Request) -> tuple[str, str]:
        await self.admin(request)
        engine = self.engine
        return (status_markdown(engine.snapshot(), await engine.metrics(), engine.hardware.error,
                                request_language(request)),
                await asyncio.to_thread(engine.log_tail, 40))

    @ui_errors
    async def switch(
        self, profile_id: str, override_fit: bool, request: gr.Request
    ) -> AsyncIterator[str]:
        """Start the switch, then show its progress until it ends."""
        await self.admin(request)
        task = self.engine.begin_switch(profile_id, override_fit=override_fit)
        async for progress in self._follow(task, "Switch", request_language(request)):
            yield progress

    @ui_errors
    async def restart(self, request: gr.Request) -> AsyncIterator[str]:
        """Restart the active profile (after it ended failed, say), showing its progress."""
        await self.admin(request)
        task = self.engine.begin_restart()
        async for progress in self._follow(task, "Restart", request_language(request)):
            yield progress

    async def _follow(self, task: asyncio.Task[None], what: str,
                      lang: str = "en") -> AsyncIterator[str]:
        """`what`: "Switch" or "Restart"."""
        key = f"models_{what.lower()}"
        async for progress in follow(self.engine, task, self.poll_interval_s):
            lines = [f"{datetime.fromtimestamp(at):%H:%M:%S} {message}"
                     for at, message in progress.events]
            yield "\n".join(lines) or text(f"{key}_starting", lang)
            if progress.error is not None:
                yield "\n".join([*lines, text(f"{key}_failed", lang, error=progress.error)])


def _menu(verdicts: list[tuple[Profile, FitVerdict]], override_fit: bool,
          lang: str) -> list[tuple[str, str]]:
    """The switch menu's (label, profile id) choices."""
    choices = []
    for profile, verdict in verdicts:
        label = f"{profile.name} ({profile.id})"
        if verdict.fits:
            choices.append((label, profile.id))
        elif override_fit:
            choices.append((f"{label} — {summary(verdict, fit_templates(lang))}", profile.id))
    return choices


def status_markdown(snapshot: dict[str, Any], metrics: dict[str, Any] | None,
                    hardware_error: str | None, lang: str = "en") -> str:
    lines = [
        text("models_active_profile", lang, profile=snapshot["profile"], model=snapshot["model"],
             engine=snapshot["engine"]),
        text("models_engine_state", lang, state=state_text(str(snapshot["state"]), lang),
             in_flight=snapshot["in_flight"], restarts=snapshot["restarts"]),
    ]
    if snapshot["last_error"]:
        lines.append(text("models_last_error", lang, error=snapshot["last_error"].splitlines()[0]))
    if snapshot["state"] == "failed":
        lines.append(text("models_stays_stopped" if snapshot["external"]
                          else "models_stays_stopped_log", lang))
    if metrics:
        lines.append(text("models_metrics", lang,
                          metrics=", ".join(f"{k} {v:g}" for k, v in metrics.items())))
    for replica in snapshot["replicas"]:
        health = text("models_replica_up" if replica["healthy"] else "models_replica_down", lang)
        lines.append(text("models_replica", lang, url=replica["base_url"], health=health,
                          in_flight=replica["in_flight"])
                     + (text("models_replica_cooling", lang, seconds=replica["cooling_down_s"])
                        if replica["cooling_down_s"] else ""))
    if hardware_error:
        lines.append(text("models_no_gpus", lang, error=hardware_error))
    return "\n\n".join(lines)


def build_models_tab(holder: ServicesHolder) -> tuple[gr.Tab, gr.Timer, list[Any]]:
    """The tab, hidden until an admin loads the page; its status timer, for stop_refreshing_on
    with the other tabs; and what to refresh on load."""
    handlers = ModelHandlers(holder)
    with gr.Tab(t("models"), id="models-tab", visible=False) as tab:
        status = gr.Markdown(elem_id="engine-status")
        # Widths that fit the table on a laptop's screen; the long fit verdict wraps.
        table = gr.Dataframe(headers=PROFILE_COLUMNS, interactive=False, elem_id="profiles-table",
                             wrap=True, column_widths=["6%", "18%", "20%", "8%", "4%", "7%", "37%"])
        with gr.Row():
            # Custom values pass to the handler, which checks the role and the profile itself.
            choice = gr.Dropdown(label=t("switch_to"), choices=[], elem_id="profile-choice",
                                 allow_custom_value=True,
                                 scale=3)
            override = gr.Checkbox(label=t("override_fit"),
                                   elem_id="override-fit", scale=2)
            switch = gr.Button(t("switch"), variant="primary", elem_id="switch-profile", scale=1)
            restart = gr.Button(t("restart_engine"), elem_id="restart-engine", scale=1)
        progress = gr.Textbox(label=t("switch_progress"), lines=6, interactive=False,
                              elem_id="switch-progress")
        engine_log = gr.Textbox(label=t("engine_log"), lines=12, interactive=False,
                                elem_id="engine-log", max_lines=12)
        timer = gr.Timer(2.0, active=False)
    timer.tick(handlers.status, None, [status, engine_log], api_visibility="private",
               show_progress="hidden")
    # Not queued: a plain request, answered at once, that no event-stream hiccup can hold up.
    override.change(handlers.switch_choices, [override], [choice], api_visibility="private",
                    show_progress="hidden", queue=False)
    switch.click(handlers.switch, [choice, override], [progress], api_visibility="private",
                 concurrency_limit=1).then(
        handlers.profiles_table, None, [table, choice, override], api_visibility="private")
    restart.click(handlers.restart, None, [progress], api_visibility="private",
                  concurrency_limit=1)
    tab.select(lambda: gr.Timer(active=True), None, timer, api_visibility="private")
    loaders = [(handlers.profiles_table, [table, choice, override]),
               (handlers.status, [status, engine_log])]
    return tab, timer, loaders
