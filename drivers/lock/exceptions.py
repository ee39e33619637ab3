"""Errors of lock drivers; `code` is stable and names the failure for faults and logs."""

from __future__ import annotations


class LockError(Exception):
    """Base error of every lock driver."""

    code = "lock_error"


class LockTimeout(LockError):
    """The lock did not acknowledge the command in time (or there is no broker / BLE link)."""

    code = "timeout"


class LockJammed(LockError):
    """The lock reports that its bolt is jammed."""

    code = "jammed"


class LockDoorOpen(LockError):
    """The lock cannot lock: the door stands open (it locks by itself once the door closes)."""

    code = "door_open"


class LockReplyError(LockError):
    """The lock answered something that is not a valid acknowledgement of the command."""

    code = "bad_reply"
