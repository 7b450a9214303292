"""The GPU tab's figures from known samples."""

from __future__ import annotations

import time

import gradio as gr

from engine.hardware import GpuInfo
from engine.sampler import Sample
from services import ServicesHolder
from ui.gpu import app_figures, build_gpu_tab, engine_figures, gpu_figures, status_line

GIB = 1024**3


def samples(with_gpus: bool, engine: dict[str, object] | None) -> list[Sample]:
    now = time.time()
    gpus = [GpuInfo(index=0, name="RTX 3090", memory_total_bytes=24 * GIB,
                    memory_used_bytes=6 * GIB, memory_free_bytes=18 * GIB,
                    utilization_percent=75, temperature_c=61, power_watts=210.0)]
    return [Sample(at=now - 2 + i, gpus=gpus if with_gpus else [], engine=engine,
                   app={"active_streams": i, "requests_last_minute": 3 * i}) for i in range(3)]


def test_gpu_figures_have_one_line_per_gpu_with_its_readings() -> None:
    utilization, memory, temperature, power = gpu_figures(samples(True, None))
    assert utilization.data[0].name == "GPU0 RTX 3090"
    assert list(utilization.data[0].y) == [75, 75, 75]
    assert list(memory.data[0].y) == [6.0, 6.0, 6.0]
    assert list(temperature.data[0].y) == [61, 61, 61]
    assert list(power.data[0].y) == [210.0, 210.0, 210.0]


def test_engine_figures_only_when_the_engine_reports_load() -> None:
    assert engine_figures(samples(False, {"state": "ready"})) == []
    load, cache = engine_figures(samples(False, {"requests_running": 2.0, "requests_waiting": 1.0,
                                                 "kv_cache_usage": 0.25, "state": "ready"}))
    assert [trace.name for trace in load.data] == ["running", "waiting"]
    assert list(cache.data[0].y) == [25.0, 25.0, 25.0]


def test_app_figures_and_status_without_a_gpu() -> None:
    streams, rate = app_figures(samples(False, {"state": "ready"}))
    assert list(streams.data[0].y) == [0, 1, 2] and list(rate.data[0].y) == [0, 3, 6]
    assert status_line(samples(False, {"state": "ready"}), "NVIDIA driver not found") == (
        "**No GPU**: NVIDIA driver not found. App-side charts below. Engine: ready.")


def test_the_gpu_tab_builds_with_private_events() -> None:
    with gr.Blocks() as demo, gr.Tabs():
        build_gpu_tab(ServicesHolder())
    assert all(fn.api_visibility == "private" for fn in demo.fns.values())
