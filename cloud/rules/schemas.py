"""Request and response models of the booking settings API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from cloud.rules.model import SPECS
from cloud.rules.services import EffectiveView, LevelView


class ChainSettingsIn(BaseModel):
    """PUT /api/v1/booking-settings/chain: the chain-wide values and HQ's bounds for lower levels."""

    values: dict[str, Any] = Field(default_factory=dict)
    bounds: dict[str, dict[str, Any]] | None = None


class LevelSettingsIn(BaseModel):
    """PUT of a store's or room type's settings: the values it overrides (absent keys inherit)."""

    values: dict[str, Any] = Field(default_factory=dict)


class LevelOut(BaseModel):
    """What one level sets."""

    level: str
    scope: str
    values: dict[str, Any]
    bounds: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, view: LevelView) -> LevelOut:
        """From the service view."""
        return cls(
            level=view.level.value,
            scope=view.scope,
            values=view.values,
            bounds={k: b.as_json() for k, b in sorted(view.bounds.items())},
        )


class EffectiveValue(BaseModel):
    """One setting as it applies: its value, the level it came from, its unit and HQ's bound."""

    value: Any
    level: str
    unit: str
    bound: dict[str, Any] | None = None


class EffectiveOut(BaseModel):
    """Every setting's effective value for a store and/or room type."""

    store_id: str | None
    room_type: str | None
    settings: dict[str, EffectiveValue]

    @classmethod
    def of(cls, view: EffectiveView) -> EffectiveOut:
        """From the service view."""
        return cls(
            store_id=view.store_id,
            room_type=view.room_type,
            settings={
                key: EffectiveValue(
                    value=eff.value,
                    level=eff.level.value,
                    unit=SPECS[key].unit,
                    bound=view.bounds[key].as_json() if key in view.bounds else None,
                )
                for key, eff in view.settings.items()
            },
        )
