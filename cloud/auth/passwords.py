"""Password hashing with argon2id (argon2-cffi); verification runs off the event loop."""

from __future__ import annotations

import asyncio
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    """Hashes and verifies passwords; the argon2 parameters are argon2-cffi's RFC 9106 defaults."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher if hasher is not None else PasswordHasher()

    @cached_property
    def _dummy_hash(self) -> str:
        # verified against for unknown logins, so they cost as much as known ones
        return self._hasher.hash("gatehouse-dummy-password")

    def hash_sync(self, password: str) -> str:
        """The argon2id hash of password (blocking: CPU-bound)."""
        return self._hasher.hash(password)

    async def hash(self, password: str) -> str:
        """The argon2id hash of password, computed in a worker thread."""
        return await asyncio.to_thread(self._hasher.hash, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored if stored is not None else self._dummy_hash, password) and (
                stored is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when password matches the stored hash (None: an unknown user, always False, same cost)."""
        return await asyncio.to_thread(self._verify, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        """True when the stored hash was made with weaker parameters than today's."""
        return self._hasher.check_needs_rehash(stored)
