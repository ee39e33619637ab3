"""Wire constants of MQTT sensors: the kinds of sensor and what `active` means for each."""

from __future__ import annotations

from enum import StrEnum


class SensorKind(StrEnum):
    """What a sensor senses; `active` is smoke, a pressed button, an open door."""

    SMOKE = "smoke"
    BUTTON = "button"
    CONTACT = "contact"
