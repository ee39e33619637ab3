"""Panel sign-in with the staff credentials the cloud sent: argon2 checks, lockout, sessions and CSRF."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from edge.clock import Clock
from edge.panel.model import FAILURE_WINDOW_S, SESSION_TTL_S, Attempts, after_failure, lockout_of, may_sign_in
from edge.records import Staff

logger = logging.getLogger(__name__)

MAX_USERNAME = 200
MAX_PASSWORD = 1024


class StaffDirectory(Protocol):
    """Where the panel finds staff members (the edge store, fed by the cloud)."""

    async def staff_member(self, username: str) -> Staff | None:
        """The staff member with this username, if the cloud sent one."""
        ...


class SignInRefused(Exception):
    """A sign-in was refused; `code` is stable (`bad_credentials`, `locked_out`, `role_not_allowed`)."""

    def __init__(self, code: str, message: str, *, retry_after_s: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class PanelSession:
    """A signed-in staff member: the cookie's token, the anti-forgery token, who and until when."""

    token: str
    csrf: str
    staff_id: str
    username: str
    display_name: str
    role: str
    signed_in_at: float
    expires_at: float
    # A fingerprint of the password hash signed in with: a changed password ends the session.
    password_print: str


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()


class StaffAuth:
    """Signs staff in against their cached argon2 hashes and keeps their sessions in memory.

    A session holds only while the cloud's record still says the same person is active with the
    same password; each use re-reads that record from the store, so a disabled account or a
    reset password ends its panel sessions at once.
    """

    def __init__(
        self,
        staff: StaffDirectory,
        clock: Clock,
        *,
        hasher: PasswordHasher | None = None,
        ttl_s: float = SESSION_TTL_S,
        new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32),
        on_sign_in: Callable[[str], None] | None = None,
    ) -> None:
        self._staff = staff
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
        self._ttl_s = ttl_s
        self._new_token = new_token
        self._on_sign_in = on_sign_in
        self._sessions: dict[str, PanelSession] = {}
        self._attempts: dict[str, Attempts] = {}

    @cached_property
    def _dummy_hash(self) -> str:
        # Checked against for unknown usernames, so they cost as much as known ones.
        return self._hasher.hash(secrets.token_urlsafe(16))

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy_hash, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _count(self, result: str) -> None:
        if self._on_sign_in is not None:
            self._on_sign_in(result)

    async def sign_in(self, username: str, password: str) -> PanelSession:
        """A new session for a staff member whose password matches (SignInRefused otherwise)."""
        key = username.strip().lower()[:MAX_USERNAME]
        now = self._clock.now()
        locked = lockout_of(self._attempts.get(key, Attempts()), now)
        if locked.locked:
            self._count("locked_out")
            logger.warning("panel sign-in while locked out", extra={"username": key})
            raise SignInRefused(
                "locked_out", "too many failed sign-ins: try again later", retry_after_s=locked.retry_after_s
            )
        member = await self._staff.staff_member(key) if key else None
        stored = member.password_hash if member is not None and member.active else None
        # argon2 is CPU heavy by design: off the event loop, so doors keep opening meanwhile.
        ok = len(password) <= MAX_PASSWORD and await asyncio.to_thread(self._verify, stored, password)
        if not ok or member is None:
            self._attempts[key] = attempts = after_failure(self._attempts.get(key, Attempts()), now)
            self._count("bad_credentials")
            logger.info(
                "panel sign-in refused",
                extra={
                    "username": key,
                    "reason": "bad_credentials",
                    "locked": attempts.locked_until is not None,
                },
            )
            raise SignInRefused("bad_credentials", "unknown username or wrong password")
        if not may_sign_in(member.role):
            self._count("role_not_allowed")
            logger.info("panel sign-in refused", extra={"username": key, "reason": "role_not_allowed"})
            raise SignInRefused("role_not_allowed", f"the role {member.role!r} has no use of the store panel")
        self._attempts.pop(key, None)
        self._purge(now)
        session = PanelSession(
            token=self._new_token(),
            csrf=self._new_token(),
            staff_id=member.id,
            username=member.username,
            display_name=member.display_name or member.username,
            role=member.role,
            signed_in_at=now,
            expires_at=now + self._ttl_s,
            password_print=_fingerprint(member.password_hash),
        )
        self._sessions[session.token] = session
        self._count("ok")
        logger.info("panel sign-in", extra={"username": member.username, "role": member.role})
        return session

    async def session(self, token: str | None) -> PanelSession | None:
        """The live session of a cookie's token (None: none, expired, or its staff member changed)."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        if self._clock.now() >= session.expires_at:
            self._end(session, "expired")
            return None
        member = await self._staff.staff_member(session.username)
        if (
            member is None
            or not member.active
            or member.id != session.staff_id
            or _fingerprint(member.password_hash) != session.password_print
            or not may_sign_in(member.role)
        ):
            self._end(session, "staff_changed")
            return None
        if (member.role, member.display_name or member.username) != (session.role, session.display_name):
            # A role changed in the cloud applies from the next request on.
            session = replace(session, role=member.role, display_name=member.display_name or member.username)
            self._sessions[token] = session
        return session

    def sign_out(self, token: str | None) -> None:
        """End a session (unknown tokens are ignored)."""
        session = self._sessions.get(token or "")
        if session is not None:
            self._end(session, "signed_out")

    @staticmethod
    def csrf_ok(session: PanelSession, presented: str | None) -> bool:
        """True when the anti-forgery token presented is the session's."""
        return bool(presented) and secrets.compare_digest(session.csrf, presented or "")

    def _end(self, session: PanelSession, why: str) -> None:
        self._sessions.pop(session.token, None)
        logger.info("panel session ended", extra={"username": session.username, "why": why})

    def _purge(self, now: float) -> None:
        for token, session in list(self._sessions.items()):
            if now >= session.expires_at:
                del self._sessions[token]
        for key, attempts in list(self._attempts.items()):
            stale = all(now - t >= FAILURE_WINDOW_S for t in attempts.failures)
            if stale and not lockout_of(attempts, now).locked:
                del self._attempts[key]

    @property
    def active_sessions(self) -> int:
        """How many sessions are open (expired ones may linger until the next sign-in)."""
        return len(self._sessions)
