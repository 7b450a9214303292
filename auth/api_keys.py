"""The shape of personal API keys. A key is random (256 bits), so a fast hash is enough to
store it: unlike a password it cannot be guessed from a dictionary."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "vck_"
SHOWN_PREFIX_CHARS = 8


def new_key() -> tuple[str, str, str]:
    """(the key, shown once; a prefix to recognise it later; the hash to store)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[: len(KEY_PREFIX) + SHOWN_PREFIX_CHARS], hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)
