"""The Models tab: switch progress that outlives the engine's bounded event log, and a timer
that runs only while the tab is shown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
from conftest import ROOT

from engine.hardware import HardwareReport
from engine.manager import EngineManager
from engine.profiles import load_profile
from services import ServicesHolder
from settings import Settings
from ui.app import build_blocks
from ui.models import ModelHandlers

PROFILE = load_profile(ROOT / "profiles" / "smollm2-135m-cpu.toml")
NO_GPU = HardwareReport(gpus=[], driver_version=None, error="no NVIDIA driver (test)")


def idle_engine(tmp_path: Path) -> EngineManager:
    return EngineManager(Settings(data_dir=tmp_path), {PROFILE.id: PROFILE}, PROFILE, NO_GPU)


async def test_switch_progress_shows_every_step_after_the_event_log_is_full(
    tmp_path: Path, monkeypatch: Any,
) -> None:
    engine = idle_engine(tmp_path)
    for n in range(60):  # an engine that has run a while: its event log rolled over already
        engine._event(f"earlier {n}")
    holder = ServicesHolder()
    holder.set(SimpleNamespace(engine=engine))  # type: ignore[arg-type]
    handlers = ModelHandlers(holder)
    monkeypatch.setattr(ModelHandlers, "poll_interval_s", 0.0)
    shown = asyncio.Event()

    async def switching() -> None:
        for burst in range(3):  # each burst comes after the tab showed the one before
            await shown.wait()
            shown.clear()
            for n in range(20):
                engine._event(f"step {burst * 20 + n}")

    task = asyncio.create_task(switching())
    progress = []
    async for text in handlers._follow(task, "Switch"):
        progress.append(text)
        shown.set()

    lines = progress[-1].splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [f"step {n}" for n in range(60)]


def test_the_engine_hands_out_events_by_sequence_number_past_its_log_size(tmp_path: Path) -> None:
    engine = idle_engine(tmp_path)
    for n in range(120):
        engine._event(f"event {n}")
    recent, after = engine.events_since(110)
    assert [message for _, message in recent] == [f"event {n}" for n in range(110, 120)]
    assert after == 120
    oldest, _ = engine.events_since(0)  # what rolled out of the log is gone, the rest remains
    assert [message for _, message in oldest] == [f"event {n}" for n in range(70, 120)]
    assert engine.events_since(120) == ([], 120)


def triggers(demo: gr.Blocks, fn: Any) -> list[tuple[int | None, str]]:
    """What sets off an event, following `.then` chains back to the first event."""
    while fn.trigger_after is not None:
        fn = demo.fns[fn.trigger_after]
    return list(fn.targets)


def timer_switches(demo: gr.Blocks, timer: gr.Timer) -> dict[int | None, bool]:
    """For each tab whose selection sets the timer: whether it turns it on."""
    switches = {}
    for fn in demo.fns.values():
        if [o._id for o in fn.outputs] != [timer._id] or fn.fn is None:
            continue
        for block_id, event in triggers(demo, fn):
            if event == "select":
                set_to = fn.fn()
                assert isinstance(set_to, gr.Timer)
                switches[block_id] = bool(set_to.active)
    return switches


def test_every_tab_timer_stops_when_another_tab_is_chosen() -> None:
    demo = build_blocks(ServicesHolder(), Settings())
    tabs = {block._id for block in demo.blocks.values() if isinstance(block, gr.Tab)}
    timers = [block for block in demo.blocks.values() if isinstance(block, gr.Timer)]
    assert len(timers) == 2  # the Models tab's and the GPU tab's

    for timer in timers:
        assert timer.active is False
        switches = timer_switches(demo, timer)
        own = [tab for tab, on in switches.items() if on]
        assert len(own) == 1, "one tab starts each timer"
        assert switches == {tab: tab in own for tab in tabs}, "every other tab stops it"
