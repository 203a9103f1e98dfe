"""Password hashing with argon2id (argon2-cffi's `PasswordHasher`, its recommended
parameters). The domain only ever sees the hash."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def _dummy_hash(self) -> str:
        # verifying against this when the user does not exist keeps the timing the same
        if self._dummy is None:
            self._dummy = self._hasher.hash("not a real password")
        return self._dummy

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches; a missing user (None) is checked against a dummy
        hash so that unknown usernames take as long as wrong passwords."""
        try:
            return self._hasher.verify(password_hash or self._dummy_hash(), password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def weak_reason(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    if password.strip() != password:
        return "a password must not start or end with spaces"
    return None
