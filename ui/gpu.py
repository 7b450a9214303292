"""The "GPU & engine" tab: live charts from the one shared sampler (no NVML call per page).

The timer starts when the tab is selected and stops when another tab of the same gr.Tabs is
selected, so a page left on the chat tab costs nothing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from engine.hardware import GpuInfo
from engine.sampler import Sample
from services import ServicesHolder
from ui.i18n import request_language, state_text, t, text

GIB = 1024**3
RANGES = {"5 min": 300, "15 min": 900, "1 h": 3600}
RANGE_KEYS = {"5 min": "gpu_range_5m", "15 min": "gpu_range_15m", "1 h": "gpu_range_1h"}
DEFAULT_RANGE = "15 min"
MAX_POINTS = 600  # per line: an hour at 1 s would send 3600 points per trace every 2 s
TAB_ID = "gpu-tab"


def _figure(title: str, unit: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, height=260, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                         yaxis_title=unit, legend={"orientation": "h"})
    return figure


def _times(samples: list[Sample]) -> list[datetime]:
    return [datetime.fromtimestamp(s.at) for s in samples]


def thin(samples: list[Sample], max_points: int = MAX_POINTS) -> list[Sample]:
    """Every n-th sample so that at most `max_points` remain, always keeping the latest."""
    if len(samples) <= max_points:
        return samples
    step = math.ceil(len(samples) / max_points)
    kept = samples[::-1][::step][::-1]  # counted back from the latest
    return kept[-max_points:]


GpuMetric = tuple[str, str, Callable[[GpuInfo], float | int | None]]
GPU_METRICS: list[GpuMetric] = [  # (i18n key of the title, unit, reading)
    ("gpu_chart_utilization", "%", lambda g: g.utilization_percent),
    ("gpu_chart_memory", "GiB", lambda g: g.memory_used_bytes / GIB),
    ("gpu_chart_temperature", "°C", lambda g: g.temperature_c),
    ("gpu_chart_power", "W", lambda g: g.power_watts),
]


def gpu_figures(samples: list[Sample], lang: str = "en") -> list[go.Figure]:
    """Utilization, memory (used, and total dotted), temperature and power: one line per GPU.
    Empty when no sample has a GPU."""
    names: dict[int, str] = {}
    for sample in samples:
        for gpu in sample.gpus:
            names.setdefault(gpu.index, gpu.name)
    if not names:
        return []
    figures = []
    for title, unit, value in GPU_METRICS:
        figure = _figure(text(title, lang), unit)
        for index in sorted(names):
            readings = [(datetime.fromtimestamp(s.at), g) for s in samples
                        for g in s.gpus if g.index == index]
            x = [at for at, _ in readings]
            figure.add_scatter(x=x, y=[value(g) for _, g in readings], mode="lines",
                               name=f"GPU{index} {names[index]}")
            if title == "gpu_chart_memory":
                figure.add_scatter(x=x, y=[g.memory_total_bytes / GIB for _, g in readings],
                                   mode="lines", line={"dash": "dot"},
                                   name=text("gpu_trace_total", lang,
                                             name=f"GPU{index} {names[index]}"))
        figures.append(figure)
    return figures


def engine_figures(samples: list[Sample], lang: str = "en") -> list[go.Figure]:
    """Running/waiting requests and KV cache usage (%), only where the engine reports them
    (llama.cpp reports nothing, so the list is empty)."""
    reported = [s for s in samples if s.engine and "requests_running" in s.engine]
    if not reported:
        return []
    x = _times(reported)
    load = _figure(text("gpu_chart_engine_requests", lang), text("gpu_unit_requests", lang))
    for key in ("requests_running", "requests_waiting"):
        load.add_scatter(x=x, y=[(s.engine or {}).get(key) for s in reported], mode="lines",
                         name=text(f"gpu_trace_{key.removeprefix('requests_')}", lang))
    cache = _figure(text("gpu_chart_kv_cache", lang), "%")
    usage = [(s.engine or {}).get("kv_cache_usage") for s in reported]
    cache.add_scatter(x=x, y=[None if u is None else 100 * float(u) for u in usage],
                      mode="lines", name=text("gpu_trace_kv_cache", lang))
    return [load, cache]


def app_figures(samples: list[Sample], lang: str = "en") -> list[go.Figure]:
    """Answers streaming now and requests per minute: always there, GPU or not."""
    x = _times(samples)
    streams = _figure(text("gpu_chart_streams", lang), text("gpu_unit_answers", lang))
    streams.add_scatter(x=x, y=[s.app.get("active_streams", 0) for s in samples],
                        mode="lines", name=text("gpu_trace_streams", lang))
    rate = _figure(text("gpu_chart_rate", lang), text("gpu_unit_rate", lang))
    rate.add_scatter(x=x, y=[s.app.get("requests_last_minute", 0) for s in samples],
                     mode="lines", name=text("gpu_unit_rate", lang))
    return [streams, rate]


def status_line(samples: list[Sample], gpu_error: str | None, lang: str = "en") -> str:
    latest = samples[-1] if samples else None
    state = state_text(str((latest.engine or {}).get("state", "?")) if latest else "?", lang)
    gpus = ", ".join(f"GPU{g.index} {g.name}" for g in latest.gpus) if latest else ""
    if not gpus:
        return text("gpu_no_gpu", lang, reason=gpu_error or text("gpu_no_reading", lang),
                    state=state)
    return text("gpu_status", lang, gpus=gpus, state=state)


class GpuHandlers:
    """Reads the shared sampler's history at event time; never touches NVML itself."""

    def __init__(self, holder: ServicesHolder) -> None:
        self._holder = holder

    def refresh(self, span_name: str, request: gr.Request | None = None) -> list[Any]:
        lang = request_language(request)
        sampler = self._holder.get().sampler
        samples = thin(sampler.history(RANGES.get(span_name, RANGES[DEFAULT_RANGE])))
        gpus = gpu_figures(samples, lang)
        engine = engine_figures(samples, lang)
        return [status_line(samples, sampler.gpu_error, lang),
                *[gr.Plot(value=f, visible=True) for f in gpus],
                *[gr.Plot(visible=False) for _ in range(len(GPU_METRICS) - len(gpus))],
                *[gr.Plot(value=f, visible=True) for f in engine],
                *[gr.Plot(visible=False) for _ in range(2 - len(engine))],
                *app_figures(samples, lang)]


def build_gpu_tab(holder: ServicesHolder) -> tuple[gr.Tab, gr.Timer]:
    """Visible to every signed-in user. Call inside the app's gr.Tabs; hand the timer to
    stop_refreshing_on with the other tabs."""
    handlers = GpuHandlers(holder)
    with gr.Tab(t("gpu"), id=TAB_ID) as tab:
        status = gr.Markdown(elem_id="gpu-status")
        # Labels are translated in the browser; values are no i18n keys (test_i18n_keys).
        span = gr.Radio([(t(RANGE_KEYS[name]), name) for name in RANGES], value=DEFAULT_RANGE,
                        label=t("range"), elem_id="gpu-range")
        with gr.Row():
            gpu_plots = [gr.Plot(show_label=False) for _ in GPU_METRICS]
        with gr.Row():
            engine_plots = [gr.Plot(show_label=False, visible=False) for _ in range(2)]
            app_plots = [gr.Plot(show_label=False) for _ in range(2)]
        timer = gr.Timer(2.0, active=False)

    outputs = [status, *gpu_plots, *engine_plots, *app_plots]
    tab.select(handlers.refresh, [span], outputs, api_visibility="private",
               show_progress="hidden").then(
        lambda: gr.Timer(active=True), None, timer, api_visibility="private")
    timer.tick(handlers.refresh, [span], outputs, api_visibility="private", show_progress="hidden")
    span.change(handlers.refresh, [span], outputs, api_visibility="private",
                show_progress="hidden")
    return tab, timer


def stop_refreshing_on(other_tabs: Iterable[gr.Tab], timer: gr.Timer) -> None:
    """Choosing another tab stops a tab's refresh timer (the GPU tab's, the Models tab's): a
    page left on another tab asks the server for nothing."""
    for other in other_tabs:
        other.select(lambda: gr.Timer(active=False), None, timer, api_visibility="private",
                     show_progress="hidden")
