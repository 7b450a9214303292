"""The GPU tab's figures from known samples, its refresh from the shared sampler, and its wiring."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest
from doubles.fake_nvml import FakeNvml, two_rtx_3090s
from gradio.helpers import special_args

from engine.hardware import GpuInfo, read_hardware
from engine.sampler import Sample
from services import ServicesHolder
from ui.gpu import (
    MAX_POINTS,
    GpuHandlers,
    app_figures,
    build_gpu_tab,
    engine_figures,
    gpu_figures,
    status_line,
    stop_refreshing_on,
    thin,
)
from ui.i18n import EN, KO

GIB = 1024**3
ENGINE_LOAD = {"requests_running": 2.0, "requests_waiting": 1.0, "kv_cache_usage": 0.25,
               "state": "ready"}


def samples(gpus: list[GpuInfo], engine: dict[str, Any] | None, count: int = 3) -> list[Sample]:
    now = time.time()
    return [Sample(at=now - count + i, gpus=gpus, engine=engine,
                   app={"active_streams": i, "requests_last_minute": 3 * i}) for i in range(count)]


def two_gpus() -> list[GpuInfo]:
    return read_hardware(FakeNvml(two_rtx_3090s())).gpus


def test_gpu_figures_have_one_line_per_gpu_with_its_readings() -> None:
    utilization, _memory, temperature, power = gpu_figures(samples(two_gpus(), None))

    names = ["GPU0 NVIDIA GeForce RTX 3090", "GPU1 NVIDIA GeForce RTX 3090"]
    assert [trace.name for trace in utilization.data] == names
    assert [list(trace.y) for trace in utilization.data] == [[7] * 3, [93] * 3]
    assert [list(trace.y) for trace in temperature.data] == [[41] * 3, [70] * 3]
    assert [list(trace.y) for trace in power.data] == [[31.5] * 3, [301.25] * 3]
    assert [len(trace.x) for trace in utilization.data] == [3, 3]


def test_memory_figure_shows_used_against_total_in_gib() -> None:
    memory = gpu_figures(samples(two_gpus(), None))[1]

    by_name = {trace.name: list(trace.y) for trace in memory.data}
    assert by_name == {
        "GPU0 NVIDIA GeForce RTX 3090": [1.5] * 3,
        "GPU0 NVIDIA GeForce RTX 3090 total": [24.0] * 3,
        "GPU1 NVIDIA GeForce RTX 3090": [2.0] * 3,
        "GPU1 NVIDIA GeForce RTX 3090 total": [24.0] * 3,
    }
    assert memory.layout.yaxis.title.text == "GiB"


def test_no_gpu_figures_without_gpus() -> None:
    assert gpu_figures(samples([], ENGINE_LOAD)) == []


def test_engine_figures_show_requests_and_kv_cache_percent() -> None:
    load, cache = engine_figures(samples([], ENGINE_LOAD))

    assert [trace.name for trace in load.data] == ["running", "waiting"]
    assert [list(trace.y) for trace in load.data] == [[2.0] * 3, [1.0] * 3]
    assert list(cache.data[0].y) == [25.0] * 3


@pytest.mark.parametrize("engine", [None, {"state": "ready"}])
def test_no_engine_figures_when_the_engine_reports_no_load(engine: dict[str, Any] | None) -> None:
    assert engine_figures(samples(two_gpus(), engine)) == []


def test_app_figures_are_there_without_any_gpu_or_engine() -> None:
    streams, rate = app_figures(samples([], None))

    assert list(streams.data[0].y) == [0, 1, 2]
    assert list(rate.data[0].y) == [0, 3, 6]


def test_status_line_says_why_there_is_no_gpu() -> None:
    assert status_line(samples([], {"state": "ready"}), "NVIDIA driver not found") == (
        "**No GPU**: NVIDIA driver not found. App-side charts below. Engine: ready.")
    assert status_line([], None) == "**No GPU**: no reading yet. App-side charts below. Engine: ?."
    assert status_line(samples(two_gpus(), ENGINE_LOAD), None) == (
        "**GPU0 NVIDIA GeForce RTX 3090, GPU1 NVIDIA GeForce RTX 3090** · engine: ready")


def test_thin_keeps_at_most_max_points_and_the_latest_sample() -> None:
    hour = samples([], None, count=3600)

    kept = thin(hour)
    assert len(kept) <= MAX_POINTS and kept[-1] is hour[-1]
    assert [s.at for s in kept] == sorted(s.at for s in kept)
    short = samples([], None, count=10)
    assert thin(short) == short


class FakeSampler:
    def __init__(self, history: list[Sample], gpu_error: str | None) -> None:
        self._history = history
        self.gpu_error = gpu_error
        self.asked: list[float | None] = []

    def history(self, since_s: float | None = None) -> list[Sample]:
        self.asked.append(since_s)
        return self._history


def holder_with(sampler: FakeSampler) -> ServicesHolder:
    holder = ServicesHolder()
    holder.set(SimpleNamespace(sampler=sampler))  # type: ignore[arg-type]
    return holder


def test_refresh_without_gpu_hides_gpu_and_engine_plots_and_shows_app_plots() -> None:
    sampler = FakeSampler(samples([], None), "NVIDIA driver not found")

    status, *plots = GpuHandlers(holder_with(sampler)).refresh("5 min")

    assert sampler.asked == [300]
    assert status.startswith("**No GPU**: NVIDIA driver not found.")
    gpu, engine, app = plots[:4], plots[4:6], plots[6:]
    assert all(isinstance(p, gr.Plot) and p.visible is False for p in gpu + engine)
    assert len(app) == 2 and all(p.data for p in app)


def test_refresh_with_gpus_and_engine_load_shows_every_plot() -> None:
    sampler = FakeSampler(samples(two_gpus(), ENGINE_LOAD), None)

    _, *plots = GpuHandlers(holder_with(sampler)).refresh("1 h")

    assert sampler.asked == [3600]
    assert all(p.visible is True for p in plots[:6])


def test_the_gpu_tab_builds_with_private_events_and_an_idle_timer() -> None:
    with gr.Blocks() as demo, gr.Tabs():
        with gr.Tab("Chat", id="chat-tab") as chat:
            gr.Markdown("chat")
        tab, timer = build_gpu_tab(ServicesHolder())
        stop_refreshing_on([chat], timer)

    assert isinstance(tab, gr.Tab) and tab.visible is True
    assert all(fn.api_visibility == "private" for fn in demo.fns.values())
    timers = [block for block in demo.blocks.values() if isinstance(block, gr.Timer)]
    assert len(timers) == 1 and timers[0].active is False
    triggers = {(block_id, event) for fn in demo.fns.values() for block_id, event in fn.targets}
    assert (tab._id, "select") in triggers and (timers[0]._id, "tick") in triggers
    stoppers = [fn for fn in demo.fns.values() if (chat._id, "select") in fn.targets]
    assert len(stoppers) == 1 and [o._id for o in stoppers[0].outputs] == [timer._id]
    stopped = stoppers[0].fn()  # type: ignore[misc]
    assert isinstance(stopped, gr.Timer) and stopped.active is False


KOREAN = {"accept-language": "ko-KR,ko;q=0.9"}


def test_the_charts_and_status_line_speak_korean_for_a_korean_caller() -> None:
    gpu = gpu_figures(samples(two_gpus(), None), lang="ko")
    assert [f.layout.title.text for f in gpu] == ["GPU 사용률", "GPU 메모리 사용량", "GPU 온도",
                                                   "GPU 전력"]
    assert "GPU0 NVIDIA GeForce RTX 3090 전체" in {trace.name for trace in gpu[1].data}
    load, cache = engine_figures(samples([], ENGINE_LOAD), lang="ko")
    assert load.layout.title.text == "엔진 요청" and load.layout.yaxis.title.text == "요청 수"
    assert [trace.name for trace in load.data] == ["처리 중", "대기 중"]
    assert cache.layout.title.text == "KV 캐시 사용률"
    streams, rate = app_figures(samples([], None), lang="ko")
    assert streams.layout.title.text == "현재 생성 중인 답변"
    assert rate.layout.title.text == "분당 요청 수" and rate.layout.yaxis.title.text == "요청/분"
    assert status_line([], None, lang="ko") == (
        "**GPU 없음**: 아직 측정값이 없음. 아래에 앱 측 차트를 표시합니다. 엔진: ?.")
    assert status_line(samples(two_gpus(), ENGINE_LOAD), None, lang="ko").endswith("· 엔진: 준비됨")


def test_the_english_chart_titles_stay_as_they_were() -> None:
    gpu = gpu_figures(samples(two_gpus(), None))
    assert [f.layout.title.text for f in gpu] == ["GPU utilization", "GPU memory used",
                                                   "GPU temperature", "GPU power"]
    load, cache = engine_figures(samples([], ENGINE_LOAD))
    assert (load.layout.title.text, load.layout.yaxis.title.text) == ("Engine requests", "requests")
    assert (cache.layout.title.text, cache.data[0].name) == ("KV cache usage", "KV cache")
    streams, rate = app_figures(samples([], None))
    assert [streams.layout.title.text, streams.layout.yaxis.title.text, streams.data[0].name] == [
        "Answers streaming now", "answers", "active streams"]
    assert [rate.layout.title.text, rate.layout.yaxis.title.text, rate.data[0].name] == [
        "Requests per minute", "requests/min", "requests/min"]


def test_refresh_answers_in_the_language_of_the_request_gradio_injects() -> None:
    handlers = GpuHandlers(holder_with(FakeSampler(samples([], None), "NVIDIA 드라이버 없음")))
    request = gr.Request(headers=KOREAN, username="alice")
    inputs, *_ = special_args(handlers.refresh, ["5 min"], request)
    assert inputs == ["5 min", request]

    status, *plots = handlers.refresh(*inputs)

    assert status.startswith("**GPU 없음**: NVIDIA 드라이버 없음.")
    assert plots[-1].layout.title.text == "분당 요청 수"
    english, *_ = handlers.refresh("5 min", gr.Request(headers={"accept-language": "en-US"}))
    assert english.startswith("**No GPU**: ")


def test_the_range_radio_shows_translated_labels_for_stable_values() -> None:
    with gr.Blocks() as demo, gr.Tabs():
        build_gpu_tab(ServicesHolder())
    span = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "gpu-range")
    assert [value for _, value in span.choices] == ["5 min", "15 min", "1 h"]
    assert [label.key for label, _ in span.choices] == ["gpu_range_5m", "gpu_range_15m",
                                                        "gpu_range_1h"]
    assert [(EN[label.key], KO[label.key]) for label, _ in span.choices] == [
        ("5 min", "5분"), ("15 min", "15분"), ("1 h", "1시간")]
