"""Errors of sensor drivers: refusals of bad messages, each with a stable `code`."""

from __future__ import annotations


class SensorError(Exception):
    """Base error of every sensor driver."""

    code = "sensor_error"


class SensorPayloadError(SensorError):
    """A sensor message that is not the documented JSON."""

    code = "bad_payload"


class SensorKindError(SensorError):
    """A sensor reports another kind than the one it is configured as."""

    code = "wrong_kind"
