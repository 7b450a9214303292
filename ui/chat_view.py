"""How the chat shows a conversation: answers with their thinking, the notes on answers that did
not finish, and which question an edit changes. Kept apart so ui/chat.py only wires."""

from __future__ import annotations

from typing import Any, cast

import gradio as gr

from ui.i18n import text

History = list[dict[str, Any]]

# Three dots that pulse (the page's CSS animates .typing), shown until the first token.
TYPING = '<span class="typing"><span></span><span></span><span></span></span>'

# A stored answer's status, and the note the chat shows under it.
STATUS_NOTES = {"cancelled": ("", "stopped"), "failed": ("⚠️ ", "failed_here")}


def edited_question(history: History | None, index: int | tuple[int, ...] | None) -> int | None:
    """Which of the user's messages (0 for the first) the chat's message `index` is; None for
    an answer. The chat shows an answer's thinking as a message of its own, so the chat's
    indexes are not the stored ones."""
    shown = history or []
    if not isinstance(index, int) or not 0 <= index < len(shown):
        return None
    if shown[index]["role"] != "user":
        return None
    return sum(m["role"] == "user" for m in shown[:index])


def cut_off(message: dict[str, Any]) -> bool:
    """An answer the engine ended at the request's max_tokens, not where the model stopped."""
    return (message["role"] == "assistant" and message.get("status") == "completed"
            and message.get("finish_reason") == "length")


def status_note(message: dict[str, Any], lang: str) -> str | None:
    """Why a stored answer stops where it does, or None when it finished."""
    if message.get("note"):
        return f"⚠️ *({message['note']})*"
    if cut_off(message):
        return f"*({text('cut_off', lang)})*"
    if message["role"] != "assistant" or message["status"] not in STATUS_NOTES:
        return None
    mark, key = STATUS_NOTES[message["status"]]
    return f"{mark}*({text(key, lang)})*"


def shown_text(message: dict[str, Any], lang: str = "en") -> str:
    """A stored message as the chat shows it: answers that did not finish say so."""
    note = status_note(message, lang)
    return f"{message['content']}\n\n{note}".strip() if note else str(message["content"])


def assistant_messages(text_so_far: str, thinking: str, done: bool = True,
                       lang: str = "en") -> History:
    """An answer as the chat shows it: thinking (if any) in a collapsible block above it.
    Before its first token, a typing indicator instead of an empty bubble (Gradio's own shows
    only until an event's first update, and ours comes at once)."""
    shown: History = []
    if thinking.strip():
        shown.append({"role": "assistant", "content": thinking.strip(),
                      "metadata": {"title": text("thinking", lang),
                                   "status": "done" if done else "pending"}})
    if text_so_far:
        shown.append({"role": "assistant", "content": text_so_far})
    elif not shown:
        shown.append({"role": "assistant", "content": text_so_far if done else TYPING})
    return shown


def stored_history(rows: list[dict[str, Any]], lang: str) -> History:
    """A stored conversation as the chat shows it. An answer cut off at the length limit
    offers to continue when it is the last one (an option under it sends "Continue")."""
    history: History = []
    for row in rows:
        if row["role"] == "user":
            history.append({"role": "user", "content": row["content"]})
        elif row["role"] == "assistant":
            history += assistant_messages(shown_text(row, lang), row.get("reasoning") or "",
                                          lang=lang)
    if rows and cut_off(rows[-1]):
        history[-1]["options"] = [{"label": text("continue", lang),
                                   "value": text("continue_prompt", lang)}]
    return history


SUGGESTIONS = ("suggest_explain", "suggest_email", "suggest_ideas")


def welcome(lang: str, history: History | None = None) -> Any:
    """The empty chat: a greeting and a few questions to start with, in the page's language
    (shown whenever the chat is emptied); with `history`, the chat showing it meanwhile."""
    placeholder = f"### {text('welcome_title', lang)}"
    examples: list[Any] = [{"text": text(key, lang)} for key in SUGGESTIONS]
    if history is None:  # the chat's value as it is
        return gr.Chatbot(placeholder=placeholder, examples=examples)
    return gr.Chatbot(cast(Any, history), placeholder=placeholder, examples=examples)
