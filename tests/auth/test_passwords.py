"""bcrypt password hashing."""

from __future__ import annotations

import pytest

from auth.passwords import PasswordHasher
from errors import InvalidInput


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(rounds=4)


def test_default_hash_is_bcrypt_2b_with_12_rounds() -> None:
    hashed = PasswordHasher().hash("s3cret")
    assert hashed.startswith("$2b$12$")
    assert len(hashed) == 60


def test_right_password_verifies(hasher: PasswordHasher) -> None:
    assert hasher.verify("s3cret", hasher.hash("s3cret")) is True


def test_wrong_password_does_not_verify(hasher: PasswordHasher) -> None:
    assert hasher.verify("S3cret", hasher.hash("s3cret")) is False


def test_same_password_hashes_differently_each_time(hasher: PasswordHasher) -> None:
    assert hasher.hash("s3cret") != hasher.hash("s3cret")


def test_unknown_user_never_verifies(hasher: PasswordHasher) -> None:
    assert hasher.verify("decoy-password-never-valid", None) is False
    assert hasher.verify("anything", None) is False


@pytest.mark.parametrize("bad_hash", ["", "not-a-hash", "$2b$04$short", "plain-text-password"])
def test_malformed_hash_does_not_verify(hasher: PasswordHasher, bad_hash: str) -> None:
    assert hasher.verify("plain-text-password", bad_hash) is False


def test_password_over_72_bytes_does_not_verify_against_a_known_hash(hasher: PasswordHasher) -> None:
    assert hasher.verify("x" * 100, hasher.hash("short")) is False


def test_password_over_72_bytes_for_unknown_user_does_not_verify(hasher: PasswordHasher) -> None:
    assert hasher.verify("x" * 100, None) is False


def test_a_password_bcrypt_cannot_take_is_refused_clearly(hasher: PasswordHasher) -> None:
    with pytest.raises(InvalidInput, match="at most 72 bytes"):
        hasher.hash("x" * 73)
