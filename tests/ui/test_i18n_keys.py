"""Gradio's page translates any shown string that is a key of the i18n table, choices included:
a choice whose value is also a key is shown translated and then refused as "not in the list of
choices" (the Users tab's role "user" did that once)."""

from __future__ import annotations

from pathlib import Path

from services import ServicesHolder
from settings import Settings
from ui.app import build_blocks
from ui.i18n import EN, KO


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
