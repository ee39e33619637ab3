"""Errors of power switch drivers; `code` is stable and names the failure for faults and logs."""

from __future__ import annotations


class PowerError(Exception):
    """Base error of every power switch driver."""

    code = "power_error"


class PowerTimeout(PowerError):
    """The switch did not answer in time."""

    code = "timeout"


class PowerReplyError(PowerError):
    """The switch answered with an exception, an error or a read-back that does not match."""

    code = "bad_reply"


class PowerOffline(PowerError):
    """The switch (or the broker it hangs off) cannot be reached at all."""

    code = "offline"
