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
from storage.users import User
from ui.app import build_blocks
from ui.models import PROFILE_COLUMNS, ModelHandlers, profile_columns, status_markdown

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


KOREAN = {"accept-language": "ko-KR,ko;q=0.9"}
ROOT_ADMIN = User(1, "root", "admin", "h")


def failed_snapshot() -> dict[str, Any]:
    return {"profile": "p", "model": "m", "engine": "vllm", "state": "failed", "in_flight": 0,
            "restarts": 2, "last_error": "boom\ntrace", "external": False,
            "replicas": [{"base_url": "http://e:8000", "healthy": False, "in_flight": 1,
                          "cooling_down_s": 5}]}


def test_the_status_in_english_is_as_it_was() -> None:
    assert status_markdown(failed_snapshot(), {"kv": 0.5}, "no driver").split("\n\n") == [
        "**Active profile:** `p` — model `m` (vllm)",
        "**Engine state:** failed · answers in flight: 0 · automatic restarts: 2",
        "**Last error:** boom",
        "The engine stays stopped until you restart it or switch profile (its log is below).",
        "**Engine metrics:** kv 0.5",
        "- replica http://e:8000: down, 1 in flight, cooling down 5 s",
        "**GPUs:** none usable (no driver); only CPU profiles can run.",
    ]
    assert PROFILE_COLUMNS == ["Active", "Profile", "Name", "Engine", "TP", "Max len",
                               "Fit on this machine"]


def test_the_status_and_table_headers_in_korean() -> None:
    status = status_markdown(failed_snapshot(), {"kv": 0.5}, "no driver", lang="ko")
    assert "**사용 중인 프로필:** `p` — 모델 `m` (vllm)" in status
    assert "**엔진 상태:** 실패 · 생성 중인 답변: 0개 · 자동 재시작: 2회" in status
    assert "**마지막 오류:** boom" in status
    assert "엔진을 다시 시작하거나 프로필을 전환할 때까지 엔진은 중지된 상태로" in status
    assert "- 레플리카 http://e:8000: 응답 없음, 처리 중 1건, 재시도 대기 5초" in status
    assert "CPU 프로필만 실행할 수 있습니다." in status
    assert profile_columns("ko")[:3] == ["사용 중", "프로필", "이름"]


async def test_a_failed_switch_says_so_in_korean(tmp_path: Path) -> None:
    async def failing() -> None:
        raise RuntimeError("boom")

    holder = ServicesHolder()
    holder.set(SimpleNamespace(engine=idle_engine(tmp_path)))  # type: ignore[arg-type]
    handlers = ModelHandlers(holder)
    task = asyncio.create_task(failing())
    progress = [text async for text in handlers._follow(task, "Switch", "ko")]
    assert progress[0] == "전환을 시작하는 중…"
    assert progress[-1] == "전환 실패: boom"
    task = asyncio.create_task(failing())
    english = [text async for text in handlers._follow(task, "Restart")]
    assert english[0] == "Restart starting…" and english[-1] == "Restart failed: boom"


async def test_the_handlers_answer_a_korean_admin_in_korean(tmp_path: Path) -> None:
    async def user_by_name(_name: str) -> User:
        return ROOT_ADMIN

    holder = ServicesHolder()
    holder.set(SimpleNamespace(engine=idle_engine(tmp_path),  # type: ignore[arg-type]
                               auth=SimpleNamespace(user_by_name=user_by_name)))
    handlers = ModelHandlers(holder)
    korean = gr.Request(headers=KOREAN, username="root")

    table, _choice, _ = await handlers.profiles_table(korean)
    status, _log = await handlers.status(korean)

    assert list(table.columns) == profile_columns("ko")
    assert status.startswith("**사용 중인 프로필:**") and "**엔진 상태:**" in status
    english_table, _, _ = await handlers.profiles_table(gr.Request(username="root"))
    assert list(english_table.columns) == PROFILE_COLUMNS


async def test_the_fit_column_is_in_the_callers_language(tmp_path: Path) -> None:
    async def user_by_name(_name: str) -> User:
        return ROOT_ADMIN

    gpu_profile = load_profile(ROOT / "profiles" / "llama-3.1-8b-instruct.toml")
    engine = EngineManager(Settings(data_dir=tmp_path), {PROFILE.id: PROFILE, gpu_profile.id: gpu_profile},
                           PROFILE, NO_GPU)
    holder = ServicesHolder()
    holder.set(SimpleNamespace(engine=engine,  # type: ignore[arg-type]
                               auth=SimpleNamespace(user_by_name=user_by_name)))
    handlers = ModelHandlers(holder)

    korean, _, _ = await handlers.profiles_table(gr.Request(headers=KOREAN, username="root"))
    english, _, _ = await handlers.profiles_table(gr.Request(username="root"))

    fit = profile_columns("ko")[-1]
    assert dict(zip(korean[profile_columns("ko")[1]], korean[fit], strict=True)) == {
        PROFILE.id: "맞음: llama.cpp는 CPU에서 실행되므로 GPU가 필요 없습니다",
        gpu_profile.id: "맞지 않음: GPU 없음 — 이 장비에서는 llama.cpp (CPU) 프로필을 사용하세요",
    }
    assert list(english["Fit on this machine"]) == [
        "fits: llama.cpp runs on the CPU: no GPU needed",
        "does not fit: no GPU — use a llama.cpp (CPU) profile on this machine",
    ]


def three_profile_handlers(tmp_path: Path) -> tuple[ModelHandlers, Any, Any]:
    """The active CPU profile, a GPU one that cannot fit here, and a second CPU one."""
    async def user_by_name(_name: str) -> User:
        return ROOT_ADMIN

    gpu_profile = load_profile(ROOT / "profiles" / "llama-3.1-8b-instruct.toml")
    precise = load_profile(ROOT / "profiles" / "smollm2-135m-cpu-precise.toml")
    profiles = {gpu_profile.id: gpu_profile, precise.id: precise, PROFILE.id: PROFILE}
    engine = EngineManager(Settings(data_dir=tmp_path), profiles, PROFILE, NO_GPU)
    holder = ServicesHolder()
    holder.set(SimpleNamespace(engine=engine,  # type: ignore[arg-type]
                               auth=SimpleNamespace(user_by_name=user_by_name)))
    return ModelHandlers(holder), gpu_profile, precise


async def test_the_table_lists_the_active_profile_then_those_that_fit(tmp_path: Path) -> None:
    """Issue 12: readable at a glance, the active and fitting profiles first."""
    handlers, gpu_profile, precise = three_profile_handlers(tmp_path)
    table, _choice, _override = await handlers.profiles_table(gr.Request(username="root"))
    assert list(table["Profile"]) == [PROFILE.id, precise.id, gpu_profile.id]


async def test_the_switch_menu_offers_what_fits_and_all_with_reasons_when_told_to(
    tmp_path: Path,
) -> None:
    """Issue 12: profiles that do not fit are not offered, unless "switch anyway" is ticked;
    then the menu says why each does not fit."""
    handlers, gpu_profile, precise = three_profile_handlers(tmp_path)
    request = gr.Request(username="root")
    _table, choice, override = await handlers.profiles_table(request)
    fitting = [(f"{PROFILE.name} ({PROFILE.id})", PROFILE.id),
               (f"{precise.name} ({precise.id})", precise.id)]
    assert choice.choices == fitting and choice.value == PROFILE.id
    assert override.value is False, "a reloaded table starts with the check on"

    anyway = await handlers.switch_choices(True, request)
    assert "value" not in anyway, "the box leaves the profile picked meanwhile as it is"
    assert anyway["choices"][:2] == fitting
    label, value = anyway["choices"][2]
    assert value == gpu_profile.id
    assert label == (f"{gpu_profile.name} ({gpu_profile.id}) — does not fit: no GPU — use a "
                     "llama.cpp (CPU) profile on this machine")
    assert (await handlers.switch_choices(False, request))["choices"] == fitting
