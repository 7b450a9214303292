"""Building the OpenAI message list the engine sees."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

TITLE_CHARS = 60


def flatten_content(content: Any) -> str:
    """Text of a message whose content may be a string or a list of content blocks.

    Gradio's Chatbot and OpenAI clients both send `[{"type": "text", "text": ...}]`.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return str(content.get("text") or "")
    if isinstance(content, Iterable):
        return "".join(flatten_content(part) for part in content)
    return str(content)


def build_messages(
    system_prompt: str | None,
    history: Iterable[Mapping[str, Any]],
    new_messages: Iterable[Mapping[str, Any]],
) -> list[dict[str, str]]:
    """System prompt first (if any), then the stored history, then this turn's messages.

    Empty assistant messages (an answer that failed before its first token) are left out:
    they carry nothing and some chat templates reject them.
    """
    messages: list[dict[str, str]] = []
    if system_prompt and system_prompt.strip():
        messages.append({"role": "system", "content": system_prompt.strip()})
    for message in [*history, *new_messages]:
        role = str(message["role"])
        text = flatten_content(message.get("content"))
        if role == "system" or (role == "assistant" and not text.strip()):
            continue
        messages.append({"role": role, "content": text})
    return messages


def title_from(text: str) -> str:
    """A first title for a new conversation: the opening words of its first message."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def rewound(history: list[dict[str, Any]], edited: str | None,
            message_id: int | None = None) -> list[dict[str, Any]]:
    """The history as it will be once a user message (`message_id`, else the last) is answered
    again: what followed it dropped and, if `edited` is given, its text replaced. LookupError
    when there is no such user message."""
    users = [i for i, m in enumerate(history) if m["role"] == "user"
             and (message_id is None or m.get("id") == message_id)]
    if not users:
        raise LookupError("the conversation has no such message to answer again")
    kept = history[: users[-1] + 1]
    if edited is not None:
        kept[-1] = {**kept[-1], "content": edited}
    return kept
