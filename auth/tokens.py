"""JWT access tokens: HS256 with sub/iat/exp (plan section 12.1), plus an id (jti) so one token
can be signed out, and the account's session generation (gen) so all of them can end at once."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from errors import AuthenticationFailed

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    username: str
    issued_at: int
    expires_at: int
    # Tokens issued before sign-out existed have neither; they expire within the lifetime.
    token_id: str = ""
    generation: int = 0


class TokenService:
    def __init__(self, secret: str, expire_minutes: int) -> None:
        if len(secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        self._secret = secret
        self.lifetime_s = expire_minutes * 60

    def issue(self, username: str, generation: int = 0, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        payload = {"sub": username, "iat": issued, "exp": issued + self.lifetime_s,
                   "jti": secrets.token_urlsafe(16), "gen": generation}
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "iat", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationFailed("Token has expired", code="token_expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthenticationFailed("Invalid token", code="invalid_token") from exc
        try:
            generation = int(payload.get("gen", 0))
        except (TypeError, ValueError) as exc:
            raise AuthenticationFailed("Invalid token", code="invalid_token") from exc
        return TokenClaims(str(payload["sub"]), int(payload["iat"]), int(payload["exp"]),
                           str(payload.get("jti", "")), generation)
