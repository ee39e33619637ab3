"""Faults: grading, routing and their effect on rooms (I/O lives in `edge.faults.services`)."""

from edge.faults.model import (
    ALARMS,
    GRADES,
    ROUTES,
    Audience,
    Fault,
    FaultCode,
    FaultSpec,
    Severity,
    fault_payload,
    grade,
    make_fault,
)

__all__ = [
    "ALARMS",
    "GRADES",
    "ROUTES",
    "Audience",
    "Fault",
    "FaultCode",
    "FaultSpec",
    "Severity",
    "fault_payload",
    "grade",
    "make_fault",
]
