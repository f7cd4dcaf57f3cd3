"""Password hashing (Argon2id at OWASP's minimum: m=19 MiB, t=2, p=1) and the password policy."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

MIN_LENGTH = 8
MAX_LENGTH = 128

# A short list of the most common passwords (ASVS 6.2.4); the full top-N list would be shipped as data.
_COMMON = ["password", "password1", "password123", "123456", "12345678", "123456789", "1234567890", "qwerty", "qwerty123", "qwertyuiop", "letmein", "welcome", "welcome1", "admin", "admin123", "administrator", "iloveyou", "monkey", "dragon", "football", "baseball", "sunshine", "princess", "abc12345", "passw0rd", "p@ssw0rd", "trustno1", "changeme", "secret123", "11111111", "00000000", "88888888", "12341234", "asdfghjk", "zaq12wsx", "1q2w3e4r", "1qaz2wsx", "superman", "batman", "starwars", "whatever", "computer", "internet"]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not a real password, compared so timing does not reveal unknown users")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; for unknown users pass None and a dummy hash is verified (same timing)."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None (no composition rules: ASVS 6.2.5)."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _COMMON:
        return "This password is among the most common ones; choose another."
    return None
