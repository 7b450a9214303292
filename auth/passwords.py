"""Password hashing: bcrypt through passlib (the maintained `libpass` distribution)."""

from __future__ import annotations

from passlib.context import CryptContext

from errors import InvalidInput

BCRYPT_MAX_BYTES = 72


class PasswordHasher:
    def __init__(self, rounds: int = 12) -> None:
        self._context = CryptContext(schemes=["bcrypt"], deprecated="auto", bcrypt__rounds=rounds)
        # A real hash to compare against when the user does not exist, so a wrong username
        # costs the same time as a wrong password and does not reveal which names exist.
        self._decoy = self._context.hash("decoy-password-never-valid")

    def hash(self, password: str) -> str:
        if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
            raise InvalidInput(
                f"A password may have at most {BCRYPT_MAX_BYTES} bytes", code="password_too_long"
            )
        return self._context.hash(password)

    def verify(self, password: str, password_hash: str | None) -> bool:
        """False for a wrong password, an unknown user (None) or a password bcrypt cannot take;
        each case costs one bcrypt round trip, so timing does not tell them apart."""
        try:
            ok = self._context.verify(password, password_hash or self._decoy)
        except ValueError:
            return False
        return bool(ok) and password_hash is not None


def check_new_password(password: str, min_length: int) -> None:
    """The rule for every password an account gets (ADMIN_PASSWORD and the demo accounts'
    published passwords aside: the first is checked at start, the second are loopback only)."""
    if len(password) < min_length:
        raise InvalidInput(f"A password needs at least {min_length} characters",
                           code="password_too_short")
    if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
        raise InvalidInput(
            f"A password may have at most {BCRYPT_MAX_BYTES} bytes", code="password_too_long")
