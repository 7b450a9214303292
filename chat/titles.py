"""Conversation titles written by the active model after the first answer."""

from __future__ import annotations

import logging
import re

from chat.reasoning import ThinkSplitter
from engine.client import EngineClient

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 60
# The opening of the first message is enough for a title, and keeps its cost to the engine low.
TITLE_INPUT_CHARS = 600
PROMPT = (
    "Write a title of at most six words for a conversation that starts with the message below. "
    "Use the language of the message. Reply with the title only, no quotes.\n\nMessage: {message}"
)


def clean_title(text: str) -> str | None:
    """The first line, without thinking, quotes, markdown or a trailing period; None if empty."""
    splitter = ThinkSplitter()
    _, answer = splitter.feed(text)
    answer += splitter.flush()[1]
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    if not lines:
        return None
    title = re.sub(r"^(title|제목)\s*[:：]\s*", "", lines[0], flags=re.IGNORECASE)
    title = title.strip(" \"'“”‘’`*#").rstrip(".。")
    if not title:
        return None
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1].rstrip() + "…"


async def generate_title(client: EngineClient, model: str, first_message: str) -> str | None:
    """A short title from the model, or None (the caller keeps its fallback)."""
    try:
        response = await client.openai.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": PROMPT.format(message=first_message[:TITLE_INPUT_CHARS])}],
            max_tokens=24,
            temperature=0.2,
        )
    except Exception as exc:
        log.info("no title generated: %s", exc)
        return None
    if not response.choices:
        return None
    return clean_title(response.choices[0].message.content or "")
