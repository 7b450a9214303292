"""Settings that stick, checked like a chat's own options."""

from __future__ import annotations

from typing import Any

from chat.admission import ContentCheck
from errors import InvalidInput, NotFound
from storage import presets
from storage.db import Database
from storage.users import User

MAX_PROMPT_CHARS = 8000


class PresetService:
    def __init__(self, db: Database, max_tokens_limit: int,
                 check_content: ContentCheck) -> None:
        self._db = db
        self._max_tokens_limit = max_tokens_limit
        # The banned-words check (chat.admission): a saved prompt is sent with later messages.
        self._check_content = check_content

    async def default_prompt(self, user: User) -> str | None:
        return await self._db.run(lambda c: presets.default_system_prompt(c, user.id))

    async def set_default_prompt(self, user: User, prompt: str | None) -> None:
        prompt = _checked_prompt(prompt)
        self._check_content(user, [prompt or ""])
        await self._db.run(lambda c: presets.set_default_system_prompt(c, user.id, prompt))

    async def save(self, user: User, name: str, system_prompt: str | None,
                   temperature: float | None, max_tokens: int | None) -> dict[str, Any]:
        name = " ".join((name or "").split())
        if not name or len(name) > 80:
            raise InvalidInput("A preset needs a name of 1 to 80 characters", code="invalid_name")
        if temperature is not None and not 0.0 <= temperature <= 2.0:
            raise InvalidInput("temperature must be between 0 and 2", code="invalid_temperature")
        if max_tokens is not None and not 1 <= max_tokens <= self._max_tokens_limit:
            raise InvalidInput(f"max_tokens must be between 1 and {self._max_tokens_limit}",
                               code="invalid_max_tokens")
        prompt = _checked_prompt(system_prompt)
        self._check_content(user, [name, prompt or ""])
        return await self._db.run(
            lambda c: presets.save(c, user.id, name, prompt, temperature, max_tokens))

    async def list(self, user: User) -> list[dict[str, Any]]:
        return await self._db.run(lambda c: presets.list_for_user(c, user.id))

    async def delete(self, user: User, preset_id: int) -> None:
        if not await self._db.run(lambda c: presets.delete(c, user.id, preset_id)):
            raise NotFound(f"Preset {preset_id} not found", code="preset_not_found")


def _checked_prompt(prompt: str | None) -> str | None:
    """A stored system prompt (default or preset): trimmed, None when blank, and bounded."""
    prompt = (prompt or "").strip() or None
    if prompt and len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(f"A system prompt may have at most {MAX_PROMPT_CHARS} characters",
                           code="prompt_too_long")
    return prompt
