"""Gradio's page translates any shown string that is a key of the i18n table, choices included:
a choice whose value is also a key is shown translated and then refused as "not in the list of
choices" (the Users tab's role "user" did that once)."""

from __future__ import annotations

from pathlib import Path
from string import Formatter

from engine.fit_text import FIT_EN
from engine.manager import EngineState
from services import ServicesHolder
from settings import Settings
from ui.app import build_blocks
from ui.i18n import EN, FIT_KO, KO, error_text, state_text


def test_no_choice_of_any_dropdown_or_radio_is_an_i18n_key(tmp_path: Path) -> None:
    blocks = build_blocks(ServicesHolder(), Settings(data_dir=tmp_path))
    keys = set(EN) | set(KO)
    clashes = []
    for component in blocks.blocks.values():
        for choice in getattr(component, "choices", None) or []:
            shown, value = choice if isinstance(choice, tuple) else (choice, choice)
            clashes += [f"{component.elem_id}: {text!r}" for text in (shown, value)
                        if isinstance(text, str) and text in keys]
    assert not clashes


def test_every_engine_state_has_a_word_in_both_languages_and_english_is_the_state_itself() -> None:
    for state in EngineState:
        assert state_text(state.value, "en") == state.value
        assert state_text(state.value, "ko") == KO[f"state_{state.value}"] != state.value
    assert state_text("?", "ko") == "?"


def fields(template: str) -> list[str]:
    return sorted(name for _, name, _, _ in Formatter().parse(template) if name)


def test_the_korean_table_has_every_english_key_and_the_same_placeholders() -> None:
    assert set(KO) == set(EN)
    assert {k: fields(v) for k, v in KO.items()} == {k: fields(v) for k, v in EN.items()}


def test_the_korean_fit_table_has_every_english_fit_key_and_the_same_placeholders() -> None:
    assert set(FIT_KO) == set(FIT_EN)
    assert {k: set(fields(v)) for k, v in FIT_KO.items()} == {k: set(fields(v)) for k, v in FIT_EN.items()}


def test_a_korean_refusal_names_what_the_english_one_names() -> None:
    params = {"model": "r1-14b", "profile": "deepseek-r1-distill-qwen-14b",
              "active": "smollm2-135m-cpu"}
    korean = error_text("model_not_active", "English", "ko", params)
    assert all(value in korean for value in params.values()) and "관리자" in korean
    assert error_text("model_not_active", "English", "en", params) == "English"
    # Raised without them, the English message is the one that names everything.
    assert error_text("model_not_active", "English", "ko") == "English"
