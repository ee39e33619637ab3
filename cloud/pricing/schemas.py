"""Request and response models of the pricing API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from cloud.pricing.model import CalendarDayKind


class CalendarDayIO(BaseModel):
    """A public holiday (priced as a holiday) or a make-up working day (priced as a weekday)."""

    day: date
    kind: CalendarDayKind
    name: str = Field(default="", max_length=200)


class CalendarIO(BaseModel):
    """The tenant's whole calendar."""

    days: list[CalendarDayIO]
