"""Leaving out the oldest turns so a conversation fits the model's context."""

from __future__ import annotations

import pytest
from conftest import AppServer
from helpers import http, stored_conversation, stream_chat

from chat.context import TEMPLATE_TOKENS_FIXED, TEMPLATE_TOKENS_PER_MESSAGE, fit_context
from errors import InvalidInput


async def words(text: str) -> int:
    return len(text.split())


def msg(role: str, n: int, tag: str = "w") -> dict[str, str]:
    return {"role": role, "content": " ".join([tag] * n)}


async def test_a_conversation_that_fits_is_sent_whole() -> None:
    messages = [msg("system", 5), msg("user", 10), msg("assistant", 10), msg("user", 10)]
    # 69 bytes of text: more than the budget leaves once the template's tokens are counted,
    # so the tokenizer is asked.
    kept, dropped, tokens = await fit_context(messages, words, 8 + 16 + 60 + 50, 50)
    assert (kept, dropped) == (messages, 0)
    assert tokens == 35


async def test_text_with_fewer_bytes_than_the_budget_is_sent_without_counting() -> None:
    """No token is shorter than a byte of UTF-8 (byte-level BPE, or SentencePiece with byte
    fallback), so such text fits whatever the tokenizer says; on llama.cpp a count waits for
    the answers being generated."""
    asked: list[str] = []

    async def count(text: str) -> int:
        asked.append(text)
        return len(text.split())

    messages = [msg("system", 5), msg("user", 10, "한국어")]  # 3 bytes a character
    size = len("\n".join(m["content"] for m in messages).encode())
    budget = size + 1 + 2 * TEMPLATE_TOKENS_PER_MESSAGE
    assert await fit_context(messages, count, budget + TEMPLATE_TOKENS_FIXED + 50, 50) == (
        messages, 0, None)
    assert asked == []
    kept, _, tokens = await fit_context(messages, count, budget - 1 + TEMPLATE_TOKENS_FIXED + 50,
                                        50)
    assert (kept, tokens) == (messages, 15) and asked


async def test_the_oldest_turns_go_first_and_the_system_prompt_stays() -> None:
    system = msg("system", 5, "s")
    old = [msg("user", 40, "u1"), msg("assistant", 40, "a1"), msg("user", 40, "u2"),
           msg("assistant", 40, "a2")]
    new = msg("user", 20, "n")
    # Room for the system prompt, one old pair and the new message.
    budget = 5 + 40 + 40 + 20 + 4 * TEMPLATE_TOKENS_PER_MESSAGE
    kept, dropped, _ = await fit_context([system, *old, new], words,
                                         budget + TEMPLATE_TOKENS_FIXED + 10, 10)
    assert kept == [system, old[2], old[3], new]
    assert dropped == 2


async def test_a_kept_history_never_starts_with_an_answer() -> None:
    messages = [msg("user", 50), msg("assistant", 10), msg("user", 10)]
    kept, dropped, _ = await fit_context(messages, words, 10 + 4 + TEMPLATE_TOKENS_FIXED + 5 + 20, 5)
    assert kept == [messages[2]] and dropped == 2


async def test_a_message_too_large_for_the_model_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        await fit_context([msg("system", 10), msg("user", 500)], words, 512, 128)
    assert info.value.code == "context_length_exceeded"
    assert "512 tokens" in info.value.message


async def test_without_a_tokenizer_nothing_is_trimmed() -> None:
    async def unavailable(text: str) -> None:
        return None
    messages = [msg("user", 5000)]
    assert await fit_context(messages, unavailable, 100, 10) == (messages, 0, None)


def test_the_real_engine_answers_a_long_conversation_by_leaving_out_old_turns(
    app_server: AppServer,
) -> None:
    headers = app_server.auth()
    long_text = "The history of the river and its bridges. " * 150  # about 1500 tokens
    response, events = stream_chat(app_server.url, headers, {"max_tokens": 32, "messages": [
        {"role": "user", "content": long_text}, {"role": "assistant", "content": long_text},
        {"role": "user", "content": "Summarise in one sentence: cats or dogs?"}]})
    assert response.status_code == 200
    assert int(response.headers["x-context-trimmed"]) >= 1
    assert events[-1] == "[DONE]" and not any(isinstance(e, dict) and "error" in e for e in events)
    stored = stored_conversation(app_server.url, headers, response.headers["x-conversation-id"], 4)
    assert len(stored["messages"]) == 4, "everything is stored even when it is not all sent"


def test_a_single_message_beyond_the_context_is_a_clear_400(app_server: AppServer) -> None:
    headers = app_server.auth()
    def conversation_ids() -> list[int]:
        listed = http.get(f"{app_server.url}/api/conversations", headers=headers).json()
        return [c["id"] for c in listed["conversations"]]
    before = conversation_ids()
    response = http.post(f"{app_server.url}/api/chat", headers=headers, timeout=60, json={
        "messages": [{"role": "user", "content": "hello there " * 1400}]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"
    assert conversation_ids() == before
