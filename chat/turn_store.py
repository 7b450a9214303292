"""Storing a turn before its answer is asked for (kept out of chat/service.py for its size)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chat.messages import flatten_content, title_from
from storage import conversations, drafts
from storage.transactions import transaction
from storage.users import User


def store_new_turn(
    conn: Any,
    user: User,
    conversation_id: int | None,
    system_prompt: str | None,
    model: str,
    new_messages: Sequence[Mapping[str, Any]],
    source: str,
    *,
    request_id: str,
    prompt_tokens: int | None,
) -> tuple[int, int]:
    """Store the conversation, this turn's messages and the draft of its answer. Returns the
    conversation's id and the id of this turn's user message."""
    message_id = 0
    with transaction(conn):
        if conversation_id is None:
            first_text = flatten_content(new_messages[-1].get("content"))
            conv = conversations.create(conn, user.id, title_from(first_text), system_prompt,
                                        model, source)
            conversation_id = conv.id
        else:
            conversations.update_settings(conn, conversation_id, system_prompt, model)
        for message in new_messages:
            if message["role"] != "system":
                text = flatten_content(message.get("content"))
                message_id = conversations.add_message(
                    conn, conversation_id, str(message["role"]), text)
        drafts.start(conn, drafts.Draft(message_id, conversation_id, request_id, user.id, model,
                                        prompt_tokens))
    return conversation_id, message_id


def rewind_and_start(conn: Any, draft: drafts.Draft, edited: str | None) -> None:
    """Answer the conversation's last user message again: what followed it goes, its text is
    replaced when `edited` is given, and the new answer's draft starts."""
    with transaction(conn):
        conversations.rewind(conn, draft.conv_id, draft.message_id, edited)
        drafts.start(conn, draft)
