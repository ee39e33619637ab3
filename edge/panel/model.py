"""Panel rules (pure): who may do what on the panel, sign-in lockout, and the cleaning queue's order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

# Lockout: this many failed sign-ins of one username within the window lock it for LOCKOUT_S.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
LOCKOUT_S = 15 * 60
# A panel session lasts a shift at most.
SESSION_TTL_S = 12 * 3600
# The longest reason kept with a staff action (the journal is forever).
MAX_REASON = 500


class PanelAction(StrEnum):
    """Everything a signed-in person may do on the panel."""

    VIEW = "view"  # the room grid, devices, faults, today's bookings
    VIEW_CLEANING = "view_cleaning"
    REDEEM = "redeem"
    DOOR = "door"
    POWER = "power"
    EXTEND = "extend"
    CLEAN = "clean"
    RESOLVE_FAULT = "resolve_fault"
    PRINT = "print"
    ALARM = "alarm"
    ANSWER_CALL = "answer_call"  # mark a customer's call from a room done


ALL_ACTIONS = frozenset(PanelAction)

# Roles of the cloud's accounts as the panel knows them; a role not listed may not sign in.
ROLE_ACTIONS: Mapping[str, frozenset[PanelAction]] = {
    "hq_admin": ALL_ACTIONS,
    "region_manager": ALL_ACTIONS,
    "store_manager": ALL_ACTIONS,
    "staff": ALL_ACTIONS,
    "cleaner": frozenset({PanelAction.VIEW_CLEANING, PanelAction.CLEAN}),
    "maintainer": frozenset({PanelAction.VIEW, PanelAction.VIEW_CLEANING}),
}


# What the panel says for each reason a customer gives on the room's QR page (see protos/README.md).
CALL_REASONS: Mapping[str, str] = {
    "call_staff": "Call staff",
    "order_bar": "Order at the bar",
    "broken": "Something is broken",
    "cleaning": "Cleaning needed",
}


def allowed(role: str, action: PanelAction) -> bool:
    """True when a role may take this action on the panel."""
    return action in ROLE_ACTIONS.get(role, frozenset())


def may_sign_in(role: str) -> bool:
    """True when the role has any business on the panel."""
    return bool(ROLE_ACTIONS.get(role))


def home_of(role: str) -> str:
    """The page a role lands on after signing in."""
    return "/" if allowed(role, PanelAction.VIEW) else "/cleaning"


@dataclass(frozen=True, slots=True)
class Attempts:
    """Failed sign-ins of one username: their times (within the window) and the lock's end."""

    failures: tuple[float, ...] = ()
    locked_until: float | None = None


@dataclass(frozen=True, slots=True)
class Lockout:
    """Whether a username may try now, and when it may try again."""

    locked: bool
    retry_after_s: int = 0


def lockout_of(attempts: Attempts, now: float) -> Lockout:
    """Whether attempts lock the username at now."""
    if attempts.locked_until is not None and now < attempts.locked_until:
        return Lockout(True, max(1, int(attempts.locked_until - now + 0.999)))
    return Lockout(False)


def after_failure(attempts: Attempts, now: float) -> Attempts:
    """The attempts after one more failure at now (the fifth within the window locks the username)."""
    if attempts.locked_until is not None and now >= attempts.locked_until:
        attempts = Attempts()
    recent = (*(t for t in attempts.failures if now - t < FAILURE_WINDOW_S), now)
    if len(recent) >= MAX_FAILURES:
        return Attempts((), now + LOCKOUT_S)
    return Attempts(recent, attempts.locked_until)


def clean_reason(reason: str | None) -> str | None:
    """A reason as kept (trimmed, control characters dropped, bounded); None when it says nothing."""
    if reason is None:
        return None
    text = "".join(ch if ch.isprintable() else " " for ch in reason).strip()
    return text[:MAX_REASON] or None


@dataclass(frozen=True, slots=True)
class CleaningRoom:
    """A room waiting for its cleaner: since when, and whether it is past its cleaning gap."""

    room_id: str
    name: str
    since: float
    due_at: float
    overdue: bool


@dataclass(frozen=True, slots=True)
class Waiting:
    """What the queue needs of a room in cleaning."""

    room_id: str
    name: str
    since: float
    gap_s: int
    overdue_fault: bool = False


def cleaning_queue(rooms: Iterable[Waiting], now: float) -> list[CleaningRoom]:
    """Rooms in cleaning, the longest waiting first; overdue once past the gap or flagged by a fault."""
    queue = [
        CleaningRoom(
            w.room_id, w.name, w.since, w.since + w.gap_s, w.overdue_fault or now >= w.since + w.gap_s
        )
        for w in rooms
    ]
    return sorted(queue, key=lambda c: (c.since, c.room_id))


@dataclass(frozen=True, slots=True)
class Extension:
    """How a session is extended: by minutes past its end, or to a time (unix seconds)."""

    minutes: int | None = None
    until: float | None = None


# The longest an extension may run past now (a typo must not book a week).
MAX_EXTENSION_S = 24 * 3600


def extension_target(ext: Extension, ends_at: float | None, now: float) -> float | str:
    """The new end of a session, or a stable refusal code."""
    if ext.until is not None:
        target = ext.until
    elif ext.minutes is not None and ext.minutes > 0:
        if ends_at is None:
            return "no_session"
        target = ends_at + ext.minutes * 60
    else:
        return "bad_args"
    if target > now + MAX_EXTENSION_S:
        return "too_long"
    return target
