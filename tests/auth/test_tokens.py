"""JWT access tokens: HS256 with sub/iat/exp."""

from __future__ import annotations

import time

import jwt
import pytest

from auth.tokens import TokenService
from errors import AuthenticationFailed

SECRET = "0123456789abcdef0123456789abcdef-test"
OTHER_SECRET = "fedcba9876543210fedcba9876543210-other"


@pytest.fixture
def tokens() -> TokenService:
    return TokenService(SECRET, expire_minutes=30)


def test_issued_token_decodes_to_its_claims_with_a_30_minute_lifetime(tokens: TokenService) -> None:
    now = time.time()
    claims = tokens.decode(tokens.issue("alice", now=now))
    assert claims.username == "alice"
    assert claims.issued_at == int(now)
    assert claims.expires_at - claims.issued_at == 30 * 60
    assert tokens.lifetime_s == 30 * 60


def test_token_is_hs256_with_sub_iat_exp_an_id_and_the_session_generation(
        tokens: TokenService) -> None:
    token = tokens.issue("alice", generation=3)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert set(payload) == {"sub", "iat", "exp", "jti", "gen"}
    assert payload["sub"] == "alice"
    assert payload["gen"] == 3
    assert payload["jti"] != jwt.decode(tokens.issue("alice"), SECRET, algorithms=["HS256"])["jti"]


def test_expired_token_is_rejected(tokens: TokenService) -> None:
    token = tokens.issue("alice", now=time.time() - 31 * 60)
    with pytest.raises(AuthenticationFailed) as info:
        tokens.decode(token)
    assert info.value.code == "token_expired"


def test_tampered_signature_is_rejected(tokens: TokenService) -> None:
    header, payload, signature = tokens.issue("alice").split(".")
    # Flip the first character: the last one may only carry padding bits.
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    with pytest.raises(AuthenticationFailed) as info:
        tokens.decode(f"{header}.{payload}.{flipped}")
    assert info.value.code == "invalid_token"


def test_token_signed_with_another_secret_is_rejected(tokens: TokenService) -> None:
    foreign = TokenService(OTHER_SECRET, expire_minutes=30).issue("alice")
    with pytest.raises(AuthenticationFailed) as info:
        tokens.decode(foreign)
    assert info.value.code == "invalid_token"


def test_token_without_exp_is_rejected(tokens: TokenService) -> None:
    token = jwt.encode({"sub": "alice", "iat": int(time.time())}, SECRET, algorithm="HS256")
    with pytest.raises(AuthenticationFailed) as info:
        tokens.decode(token)
    assert info.value.code == "invalid_token"


def test_unsigned_alg_none_token_is_rejected(tokens: TokenService) -> None:
    now = int(time.time())
    token = jwt.encode({"sub": "admin", "iat": now, "exp": now + 600}, None, algorithm="none")
    with pytest.raises(AuthenticationFailed) as info:
        tokens.decode(token)
    assert info.value.code == "invalid_token"


def test_garbage_token_is_rejected(tokens: TokenService) -> None:
    with pytest.raises(AuthenticationFailed) as info:
        tokens.decode("not.a.jwt")
    assert info.value.code == "invalid_token"


def test_secret_shorter_than_32_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        TokenService("x" * 31, expire_minutes=30)
    TokenService("x" * 32, expire_minutes=30)
