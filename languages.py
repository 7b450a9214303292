"""Which language server-written text is in: the caller's Accept-Language, Korean or English.

Below both the UI and the login page (which sits in auth/, and so may not import ui/)."""

from __future__ import annotations


def language(accept_language: str | None) -> str:
    """"ko" when the browser prefers Korean over English, else "en"."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("ko"):
            return "ko"
        if tag.startswith("en"):
            return "en"
    return "en"
