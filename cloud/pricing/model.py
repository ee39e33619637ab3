"""Pure pricing rules: parse a room's price plan, tell weekdays from holidays, quote a time range.

Money is integer fen (1/100 yuan). A plan prices each hour by time-of-day band, with one list of
bands for weekdays and one for holidays (weekends and public holidays; a make-up working day
(调休) counts as a weekday). Peak windows add a surcharge and off-peak windows give a discount, in
whole percent, on the minutes they cover. Each line of a quote is rounded half up once; the total
is the sum of the lines, so the breakdown always adds up.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cloud.errors import Invalid

DAY_MINUTES = 24 * 60
CURRENCY = "CNY"
MAX_PRICE_PER_HOUR = 10_000_000  # fen: 100,000 yuan an hour is surely a typo
MAX_SURCHARGE_PCT = 300
MAX_DISCOUNT_PCT = 100


class DayType(StrEnum):
    """Which list of bands prices a day."""

    WEEKDAY = "weekday"
    HOLIDAY = "holiday"


class Adjust(StrEnum):
    """The kind of adjustment a window applies."""

    PEAK = "peak"
    OFF_PEAK = "off_peak"


class CalendarDayKind(StrEnum):
    """An entry of a tenant's calendar: a public holiday, or a make-up working day."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


@dataclass(frozen=True, slots=True)
class Band:
    """A time-of-day band [start_min, end_min) priced per hour."""

    start_min: int
    end_min: int
    per_hour: int


@dataclass(frozen=True, slots=True)
class Window:
    """A peak (surcharge) or off-peak (discount) window [start_min, end_min) on some day types."""

    kind: Adjust
    start_min: int
    end_min: int
    pct: int
    days: frozenset[DayType]


@dataclass(frozen=True, slots=True)
class PricePlan:
    """A room's price plan."""

    weekday: tuple[Band, ...]
    holiday: tuple[Band, ...]
    windows: tuple[Window, ...] = ()

    def bands(self, day_type: DayType) -> tuple[Band, ...]:
        """The bands pricing a day of this type."""
        return self.holiday if day_type is DayType.HOLIDAY else self.weekday


FREE_PLAN = PricePlan(weekday=(Band(0, DAY_MINUTES, 0),), holiday=(Band(0, DAY_MINUTES, 0),))


@dataclass(frozen=True, slots=True)
class Calendar:
    """A tenant's public holidays and make-up working days."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def day_type(self, day: date) -> DayType:
        """Holiday for listed holidays and weekends (unless a listed make-up working day)."""
        if day in self.holidays:
            return DayType.HOLIDAY
        if day in self.workdays:
            return DayType.WEEKDAY
        return DayType.HOLIDAY if day.weekday() >= 5 else DayType.WEEKDAY


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """A stretch of the booking with one price: local times, minutes, hourly price, adjustment, amount."""

    starts_at: datetime
    ends_at: datetime
    day_type: DayType
    minutes: int
    per_hour: int
    base: int
    adjustment: Adjust | None
    pct: int
    amount: int

    def as_json(self) -> dict[str, Any]:
        """A JSON-able view (times in the store's local ISO format)."""
        return {
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "day_type": self.day_type.value,
            "minutes": self.minutes,
            "per_hour": self.per_hour,
            "base": self.base,
            "adjustment": self.adjustment.value if self.adjustment else None,
            "pct": self.pct,
            "amount": self.amount,
        }


@dataclass(frozen=True, slots=True)
class Quote:
    """The price of a time range with its breakdown."""

    total: int
    lines: tuple[QuoteLine, ...]
    currency: str = CURRENCY

    @property
    def minutes(self) -> int:
        """Minutes priced."""
        return sum(line.minutes for line in self.lines)

    def per_hour(self) -> int:
        """The average hourly price (rounded half up); 0 for an empty quote."""
        return _div_half_up(self.total * 60, self.minutes) if self.minutes else 0

    def as_json(self) -> dict[str, Any]:
        """A JSON-able view."""
        return {
            "currency": self.currency,
            "total": self.total,
            "lines": [line.as_json() for line in self.lines],
        }


def _div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def share(amount: int, pct: int) -> int:
    """pct percent of amount, rounded half up (deposits, refunds)."""
    return _div_half_up(amount * pct, 100)


def parse_clock(value: object, field: str, *, allow_24: bool) -> int:
    """ "HH:MM" as minutes since midnight ("24:00" only where allowed)."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise Invalid(f"{field} must be HH:MM", code="invalid_time_of_day", field=field)
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        raise Invalid(f"{field} must be HH:MM", code="invalid_time_of_day", field=field)
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > DAY_MINUTES or (total == DAY_MINUTES and not allow_24):
        raise Invalid(f"{field} is not a time of day", code="invalid_time_of_day", field=field)
    return total


def format_clock(minutes: int) -> str:
    """Minutes since midnight as "HH:MM"."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _int(value: object, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise Invalid(f"{field} must be an integer in {lo}..{hi}", code="invalid_price_plan", field=field)
    return value


def _span(raw: Mapping[str, Any], field: str) -> tuple[int, int]:
    start = parse_clock(raw.get("from"), f"{field}.from", allow_24=False)
    end = parse_clock(raw.get("to"), f"{field}.to", allow_24=True)
    if end <= start:
        raise Invalid(
            f"{field}: 'to' must be after 'from' (split a window that crosses midnight in two)",
            code="invalid_price_plan",
            field=f"{field}.to",
        )
    return start, end


def _bands(raw: object, field: str) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        raise Invalid(f"{field} must be a non-empty list of bands", code="invalid_price_plan", field=field)
    bands: list[Band] = []
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            raise Invalid(f"{where} must be an object", code="invalid_price_plan", field=where)
        start, end = _span(item, where)
        bands.append(Band(start, end, _int(item.get("per_hour"), f"{where}.per_hour", 0, MAX_PRICE_PER_HOUR)))
    bands.sort(key=lambda b: b.start_min)
    edge = 0
    for band in bands:
        if band.start_min != edge:
            raise Invalid(
                f"{field} must cover the whole day without gaps or overlaps (check {format_clock(edge)})",
                code="price_plan_gap",
                field=field,
            )
        edge = band.end_min
    if edge != DAY_MINUTES:
        raise Invalid(
            f"{field} must cover the whole day (ends at {format_clock(edge)})",
            code="price_plan_gap",
            field=field,
        )
    return tuple(bands)


def _windows(raw: object, kind: Adjust) -> list[Window]:
    field = kind.value
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid(f"{field} must be a list", code="invalid_price_plan", field=field)
    limit = MAX_SURCHARGE_PCT if kind is Adjust.PEAK else MAX_DISCOUNT_PCT
    windows: list[Window] = []
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            raise Invalid(f"{where} must be an object", code="invalid_price_plan", field=where)
        start, end = _span(item, where)
        pct = _int(item.get("pct"), f"{where}.pct", 0, limit)
        days_raw = item.get("days", [d.value for d in DayType])
        if not isinstance(days_raw, list) or not days_raw:
            raise Invalid(
                f"{where}.days must list day types", code="invalid_price_plan", field=f"{where}.days"
            )
        try:
            days = frozenset(DayType(d) for d in days_raw)
        except ValueError as err:
            raise Invalid(
                f"{where}.days: use 'weekday' and/or 'holiday'",
                code="invalid_price_plan",
                field=f"{where}.days",
            ) from err
        windows.append(Window(kind, start, end, pct, days))
    return windows


def parse_plan(raw: Mapping[str, Any]) -> PricePlan:
    """A price plan from its JSON form; Invalid (with the field at fault) when malformed.

    ``{"weekday": [{"from": "00:00", "to": "18:00", "per_hour": 3000}, ...],
    "holiday": [...] (default: the weekday bands), "peak": [{"from": "19:00", "to": "23:00",
    "pct": 20, "days": ["holiday"]}], "off_peak": [{"from": "02:00", "to": "10:00", "pct": 30}]}``
    """
    unknown = set(raw) - {"weekday", "holiday", "peak", "off_peak"}
    if unknown:
        name = sorted(unknown)[0]
        raise Invalid(f"unknown price plan member {name!r}", code="invalid_price_plan", field=name)
    weekday = _bands(raw.get("weekday"), "weekday")
    holiday = _bands(raw["holiday"], "holiday") if raw.get("holiday") is not None else weekday
    windows = _windows(raw.get("peak"), Adjust.PEAK) + _windows(raw.get("off_peak"), Adjust.OFF_PEAK)
    for day_type in DayType:
        todays = sorted((w for w in windows if day_type in w.days), key=lambda w: w.start_min)
        for before, after in itertools.pairwise(todays):
            if after.start_min < before.end_min:
                raise Invalid(
                    f"peak and off-peak windows overlap on {day_type.value}s"
                    f" at {format_clock(after.start_min)}",
                    code="price_plan_overlap",
                    field=after.kind.value,
                )
    return PricePlan(weekday=weekday, holiday=holiday, windows=tuple(windows))


def plan_json(plan: PricePlan) -> dict[str, Any]:
    """The JSON form of a plan (what parse_plan reads back to an equal plan)."""

    def bands(items: Iterable[Band]) -> list[dict[str, Any]]:
        return [
            {"from": format_clock(b.start_min), "to": format_clock(b.end_min), "per_hour": b.per_hour}
            for b in items
        ]

    def windows(kind: Adjust) -> list[dict[str, Any]]:
        return [
            {
                "from": format_clock(w.start_min),
                "to": format_clock(w.end_min),
                "pct": w.pct,
                "days": sorted(d.value for d in w.days),
            }
            for w in plan.windows
            if w.kind is kind
        ]

    return {
        "weekday": bands(plan.weekday),
        "holiday": bands(plan.holiday),
        "peak": windows(Adjust.PEAK),
        "off_peak": windows(Adjust.OFF_PEAK),
    }


def _band_at(bands: Sequence[Band], minute: int) -> Band:
    return next(b for b in bands if b.start_min <= minute < b.end_min)


def _window_at(windows: Iterable[Window], day_type: DayType, minute: int) -> Window | None:
    return next(
        (w for w in windows if day_type in w.days and w.start_min <= minute < w.end_min),
        None,
    )


def _next_edge(plan: PricePlan, day_type: DayType, minute: int) -> int:
    """The first band or window edge after minute (or midnight)."""
    edges = [b.end_min for b in plan.bands(day_type)]
    edges += [e for w in plan.windows if day_type in w.days for e in (w.start_min, w.end_min)]
    return min((e for e in edges if e > minute), default=DAY_MINUTES)


def quote(plan: PricePlan, calendar: Calendar, tz: ZoneInfo, starts_at: datetime, ends_at: datetime) -> Quote:
    """The price of [starts_at, ends_at) in a store of time zone tz, line by line (whole minutes)."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("quote needs aware datetimes")
    lines: list[QuoteLine] = []
    cursor = starts_at.astimezone(UTC)
    end = ends_at.astimezone(UTC)
    while cursor < end:
        local = cursor.astimezone(tz)
        minute = local.hour * 60 + local.minute
        day_type = calendar.day_type(local.date())
        band = _band_at(plan.bands(day_type), minute)
        window = _window_at(plan.windows, day_type, minute)
        step = _next_edge(plan, day_type, minute) - minute
        stop = min(end, cursor + timedelta(minutes=step))
        minutes = int((stop - cursor).total_seconds() // 60)
        if minutes <= 0:  # a sub-minute remainder: callers pass whole minutes
            break
        if window is None:
            factor, adjustment, pct = 100, None, 0
        elif window.kind is Adjust.PEAK:
            factor, adjustment, pct = 100 + window.pct, Adjust.PEAK, window.pct
        else:
            factor, adjustment, pct = 100 - window.pct, Adjust.OFF_PEAK, window.pct
        base = _div_half_up(band.per_hour * minutes, 60)
        amount = _div_half_up(band.per_hour * minutes * factor, 60 * 100)
        previous = lines[-1] if lines else None
        if (
            previous is not None
            and previous.ends_at == local
            and (previous.day_type, previous.per_hour, previous.adjustment, previous.pct)
            == (day_type, band.per_hour, adjustment, pct)
        ):
            minutes += previous.minutes
            base = _div_half_up(band.per_hour * minutes, 60)
            amount = _div_half_up(band.per_hour * minutes * factor, 60 * 100)
            lines[-1] = QuoteLine(
                previous.starts_at,
                stop.astimezone(tz),
                day_type,
                minutes,
                band.per_hour,
                base,
                adjustment,
                pct,
                amount,
            )
        else:
            lines.append(
                QuoteLine(
                    local,
                    stop.astimezone(tz),
                    day_type,
                    minutes,
                    band.per_hour,
                    base,
                    adjustment,
                    pct,
                    amount,
                )
            )
        cursor = stop
    return Quote(total=sum(line.amount for line in lines), lines=tuple(lines))
