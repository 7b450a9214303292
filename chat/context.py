"""Fitting a conversation into the model's context window.

The oldest turns are left out first; the system prompt and the new message always stay.
Counts come from the engine's tokenizer; each message also costs a few template tokens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from errors import InvalidInput

TEMPLATE_TOKENS_PER_MESSAGE = 4  # role markers such as <|im_start|>user\n ... <|im_end|>\n
TEMPLATE_TOKENS_FIXED = 8  # the generation prompt and BOS

Count = Callable[[str], Awaitable[int | None]]


def _cost(tokens: int) -> int:
    return tokens + TEMPLATE_TOKENS_PER_MESSAGE


async def fit_context(
    messages: list[dict[str, str]], count: Count, context_len: int, max_tokens: int
) -> tuple[list[dict[str, str]], int, int | None]:
    """(messages that fit, how many were left out, prompt tokens); unchanged when the engine
    cannot count (it will then answer or refuse on its own). Prompt tokens are None when the
    text certainly fits: it is not counted then (the engine's usage counts it afterwards)."""
    budget = context_len - max_tokens - TEMPLATE_TOKENS_FIXED
    text = "\n".join(m["content"] for m in messages)
    # A token is at least one byte of UTF-8 (byte-level BPE; SentencePiece falls back to
    # bytes), and a count may add a BOS: most turns never wait for the tokenizer, which on
    # llama.cpp answers only between the answers it generates.
    if len(text.encode()) + 1 + TEMPLATE_TOKENS_PER_MESSAGE * len(messages) <= budget:
        return messages, 0, None
    whole = await count(text)
    if whole is None:
        return messages, 0, None
    if whole + TEMPLATE_TOKENS_PER_MESSAGE * len(messages) <= budget:
        return messages, 0, whole
    sizes = []
    for message in messages:
        tokens = await count(message["content"])
        sizes.append(_cost(tokens if tokens is not None else len(message["content"])))
    system = [i for i, m in enumerate(messages) if m["role"] == "system"]
    required = sum(sizes[i] for i in system) + sizes[-1]
    if required > budget:
        raise InvalidInput(
            f"The message is too long for the model: it needs {required} tokens with the system"
            f" prompt, and the model's context of {context_len} tokens leaves {budget} once"
            f" {max_tokens} are kept for the answer.",
            code="context_length_exceeded",
        )
    droppable = [i for i in range(len(messages) - 1) if i not in system]
    total, dropped = sum(sizes), set()
    for index in droppable:  # oldest first
        if total <= budget:
            break
        dropped.add(index)
        total -= sizes[index]
    kept = [m for i, m in enumerate(messages) if i not in dropped]
    # A conversation must not start with an answer whose question was left out.
    while len(kept) > 1 and kept[0]["role"] == "assistant":
        dropped.add(messages.index(kept.pop(0)))
    return kept, len(dropped), total - TEMPLATE_TOKENS_PER_MESSAGE * len(kept)
