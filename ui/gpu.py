"""The "GPU & engine" tab: live charts from the one shared sampler (no NVML call per page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from engine.sampler import Sample
from services import ServicesHolder
from ui.i18n import t

GIB = 1024**3
RANGES = {"5 min": 300, "15 min": 900, "1 h": 3600}


def _figure(title: str, unit: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, height=260, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                         yaxis_title=unit, legend={"orientation": "h"})
    return figure


def _times(samples: list[Sample]) -> list[datetime]:
    return [datetime.fromtimestamp(s.at) for s in samples]


def gpu_figures(samples: list[Sample]) -> list[go.Figure]:
    """Utilization, memory, temperature and power: one line per GPU."""
    metrics = [("GPU utilization", "%", lambda g: g.utilization_percent),
               ("GPU memory used", "GiB", lambda g: g.memory_used_bytes / GIB),
               ("GPU temperature", "°C", lambda g: g.temperature_c),
               ("GPU power", "W", lambda g: g.power_watts)]
    indices = sorted({g.index for s in samples for g in s.gpus})
    figures = []
    for title, unit, value in metrics:
        figure = _figure(title, unit)
        for index in indices:
            points = [(datetime.fromtimestamp(s.at), value(g)) for s in samples
                      for g in s.gpus if g.index == index]
            name = next(g.name for s in samples for g in s.gpus if g.index == index)
            figure.add_scatter(x=[p[0] for p in points], y=[p[1] for p in points],
                               mode="lines", name=f"GPU{index} {name}")
        if title == "GPU memory used":
            for index in indices:
                total = next(g.memory_total_bytes for s in samples for g in s.gpus
                             if g.index == index) / GIB
                figure.add_hline(y=total, line_dash="dot", annotation_text=f"GPU{index} total")
        figures.append(figure)
    return figures


def engine_figures(samples: list[Sample]) -> list[go.Figure]:
    """Running/waiting requests and KV cache usage, where the engine reports them."""
    reported = [s for s in samples if s.engine and "requests_running" in s.engine]
    if not reported:
        return []
    load = _figure("Engine requests", "requests")
    for key in ("requests_running", "requests_waiting"):
        load.add_scatter(x=_times(reported), y=[(s.engine or {}).get(key) for s in reported],
                         mode="lines", name=key.replace("requests_", ""))
    cache = _figure("KV cache usage", "%")
    cache.add_scatter(x=_times(reported),
                      y=[100 * float((s.engine or {}).get("kv_cache_usage") or 0) for s in reported],
                      mode="lines", name="KV cache")
    return [load, cache]


def app_figures(samples: list[Sample]) -> list[go.Figure]:
    streams = _figure("Answers streaming now", "answers")
    streams.add_scatter(x=_times(samples), y=[s.app.get("active_streams", 0) for s in samples],
                        mode="lines", name="active streams")
    rate = _figure("Requests per minute", "requests/min")
    rate.add_scatter(x=_times(samples), y=[s.app.get("requests_last_minute", 0) for s in samples],
                     mode="lines", name="requests/min")
    return [streams, rate]


def status_line(samples: list[Sample], gpu_error: str | None) -> str:
    latest = samples[-1] if samples else None
    state = (latest.engine or {}).get("state", "?") if latest else "?"
    gpus = ", ".join(f"GPU{g.index} {g.name}" for g in latest.gpus) if latest else ""
    if not gpus:
        return f"**No GPU**: {gpu_error or 'no reading yet'}. App-side charts below. Engine: {state}."
    return f"**{gpus}** · engine: {state}"


def build_gpu_tab(holder: ServicesHolder) -> gr.Tab:
    with gr.Tab(t("gpu"), id="gpu-tab") as tab:
        status = gr.Markdown(elem_id="gpu-status")
        span = gr.Radio(list(RANGES), value="15 min", label=t("range"), elem_id="gpu-range")
        with gr.Row():
            gpu_plots = [gr.Plot(show_label=False) for _ in range(4)]
        with gr.Row():
            engine_plots = [gr.Plot(show_label=False, visible=False) for _ in range(2)]
            app_plots = [gr.Plot(show_label=False) for _ in range(2)]
        timer = gr.Timer(2.0, active=False)

    def refresh(span_name: str) -> list[Any]:
        sampler = holder.get().sampler
        samples = sampler.history(RANGES.get(span_name, 900))
        gpus = gpu_figures(samples) if any(s.gpus for s in samples) else []
        engine = engine_figures(samples)
        return [status_line(samples, sampler.gpu_error),
                *[gr.Plot(value=f, visible=True) for f in gpus],
                *[gr.Plot(visible=False) for _ in range(4 - len(gpus))],
                *[gr.Plot(value=f, visible=True) for f in engine],
                *[gr.Plot(visible=False) for _ in range(2 - len(engine))],
                *app_figures(samples)]

    outputs = [status, *gpu_plots, *engine_plots, *app_plots]
    tab.select(refresh, [span], outputs, api_visibility="private").then(
        lambda: gr.Timer(active=True), None, timer, api_visibility="private")
    timer.tick(refresh, [span], outputs, api_visibility="private", show_progress="hidden")
    span.change(refresh, [span], outputs, api_visibility="private")
    return tab
