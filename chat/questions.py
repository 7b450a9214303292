"""What a turn asks: new messages, or one of the conversation's questions again (regenerate the
last, or edit any and answer it again). Each is read and stored here, so the chat service
prepares both in one way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from chat.admission import sent_texts
from chat.messages import flatten_content, rewound, title_from
from chat.turn import ChatOptions
from errors import InvalidInput
from storage import presets, turns
from storage.conversations import Conversation, list_messages
from storage.db import Database
from storage.users import User

Messages = Sequence[Mapping[str, Any]]


def nothing_to_resend() -> InvalidInput:
    """No such message of the user's to answer again (none yet, or not theirs, or gone)."""
    return InvalidInput("There is no message to answer again", code="nothing_to_resend")


@dataclass(frozen=True)
class Question:
    user: User
    conv: Conversation | None  # None: the turn starts a conversation
    new_messages: Sequence[Mapping[str, Any]] = ()
    source: str | None = "chat"  # "api" (/v1): such conversations are not listed
    again: bool = False  # a user message answered again ...
    message_id: int | None = None  # ... this one (None: the last) ...
    edited: str | None = None  # ... with this text instead, if given

    def sent_texts(self, system_prompt: str | None) -> list[str]:
        """What the caller wrote, for the admission's checks."""
        return sent_texts(self.new_messages, self.edited, system_prompt)

    async def history(self, db: Database) -> tuple[Messages, Messages]:
        """(the stored messages before this turn, this turn's messages)."""
        if self.conv is None:
            return [], self.new_messages
        conv_id = self.conv.id
        stored = await db.run(lambda c: list_messages(c, conv_id))
        if not self.again:
            return stored, self.new_messages
        try:
            kept = rewound(stored, self.edited, self.message_id)
        except LookupError as exc:
            raise nothing_to_resend() from exc
        return kept[:-1], kept[-1:]

    async def system_prompt(self, db: Database, options: ChatOptions,
                            asked: Messages) -> str | None:
        """A system message in the request, else the option, else the conversation's; a new
        conversation without any starts with the user's default prompt (every entry point,
        not only the chat page, which shows it in its box). An empty prompt asked for is kept:
        it means none."""
        prompt = options.system_prompt
        if prompt is None and self.conv is not None:
            prompt = self.conv.system_prompt
        for message in asked:
            if message["role"] == "system":
                prompt = flatten_content(message.get("content"))
        if prompt is None and self.conv is None:
            user_id = self.user.id
            prompt = await db.run(lambda c: presets.default_system_prompt(c, user_id))
        return prompt

    def store(self, conn: duckdb.DuckDBPyConnection, asked: Messages,
              system_prompt: str | None, request: turns.Request) -> tuple[int, int]:
        """Store the question and its answer's draft: (conversation id, question id)."""
        conv_id = self.conv.id if self.conv is not None else None
        if self.again and conv_id is not None:  # a question asked again has its conversation
            message_id = int(asked[-1]["id"])
            turns.ask_again(conn, conv_id, message_id, self.edited, request)
            return conv_id, message_id
        texts = [(str(m["role"]), flatten_content(m.get("content")))
                 for m in asked if m["role"] != "system"]
        new = turns.NewMessages(conv_id, title_from(texts[-1][1]), system_prompt,
                                self.source or "chat", texts)
        return turns.ask(conn, new, request)
