"""Password hashing: bcrypt through passlib (the maintained `libpass` distribution)."""

from __future__ import annotations

from passlib.context import CryptContext


class PasswordHasher:
    def __init__(self, rounds: int = 12) -> None:
        self._context = CryptContext(schemes=["bcrypt"], deprecated="auto", bcrypt__rounds=rounds)
        # A real hash to compare against when the user does not exist, so a wrong username
        # costs the same time as a wrong password and does not reveal which names exist.
        self._decoy = self._context.hash("decoy-password-never-valid")

    def hash(self, password: str) -> str:
        return self._context.hash(password)

    def verify(self, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            self._context.verify(password, self._decoy)
            return False
        try:
            return bool(self._context.verify(password, password_hash))
        except ValueError:
            return False
