"""JWT access tokens: HS256 with sub/iat/exp (plan section 12.1)."""

from __future__ import annotations

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


class TokenService:
    def __init__(self, secret: str, expire_minutes: int) -> None:
        if len(secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        self._secret = secret
        self.lifetime_s = expire_minutes * 60

    def issue(self, username: str, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        payload = {"sub": username, "iat": issued, "exp": issued + self.lifetime_s}
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
        return TokenClaims(str(payload["sub"]), int(payload["iat"]), int(payload["exp"]))
