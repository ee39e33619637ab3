"""Errors of gate drivers; `code` is stable and names the failure for faults and logs."""

from __future__ import annotations


class GateError(Exception):
    """Base error of every gate driver."""

    code = "gate_error"


class GateTimeout(GateError):
    """The gate did not answer in time."""

    code = "timeout"


class GateReplyError(GateError):
    """The gate answered garbage, an error, a Modbus exception, or a read-back that does not show it open."""

    code = "bad_reply"


class GateOffline(GateError):
    """The gate (or the broker it hangs off) cannot be reached."""

    code = "offline"


class GateJammed(GateError):
    """The gate reports its arm jammed."""

    code = "jammed"
