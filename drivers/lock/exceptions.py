"""Errors of lock drivers; `code` is stable and names the failure for faults and logs."""

from __future__ import annotations


class LockError(Exception):
    """Base error of every lock driver."""

    code = "lock_error"


class LockTimeout(LockError):
    """The lock did not acknowledge the command in time (or the broker was unreachable)."""

    code = "timeout"


class LockJammed(LockError):
    """The lock reports that its bolt is jammed."""

    code = "jammed"


class LockReplyError(LockError):
    """The lock answered something that is not a valid acknowledgement of the command."""

    code = "bad_reply"
