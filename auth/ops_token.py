"""A token for the server's own scripts (./backup): written at each start into the data
directory, readable only by the app's OS user, so only that user's scripts act as the operator
without an admin password. Behind a proxy on the same host a loopback address proves nothing;
a file only the app's user can read does."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from settings import write_private

FILE = "ops_token"


def issue(data_dir: Path) -> str:
    token = secrets.token_urlsafe(32)
    write_private(data_dir / FILE, token)
    return token


def matches(data_dir: Path, presented: str | None) -> bool:
    try:
        token = (data_dir / FILE).read_text().strip()
    except OSError:
        return False
    return bool(token and presented) and hmac.compare_digest(token.encode(),
                                                             (presented or "").encode())
