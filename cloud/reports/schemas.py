"""Response models of the reports API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from cloud.reports.model import Figures, StoreRank
from cloud.reports.services import Report


class FiguresOut(BaseModel):
    """One bucket's figures (money in fen; rates null when there is nothing to divide by)."""

    label: str
    first_day: date
    end_day: date
    open_min: int
    booked_min: int
    occupancy: float | None
    revenue: int
    bookings: int
    due: int
    redeemed: int
    redemption_rate: float | None

    @classmethod
    def of(cls, f: Figures) -> FiguresOut:
        """From the model's figures."""
        return cls(
            label=f.label,
            first_day=f.first,
            end_day=f.end,
            open_min=f.open_min,
            booked_min=f.booked_min,
            occupancy=f.occupancy,
            revenue=f.revenue,
            bookings=f.bookings,
            due=f.due,
            redeemed=f.redeemed,
            redemption_rate=f.redemption_rate,
        )


class StoreSeriesOut(BaseModel):
    """One store's figures per bucket."""

    store_id: str
    name: str
    buckets: list[FiguresOut]


class SeriesOut(BaseModel):
    """GET /api/v1/reports/series: the figures per bucket, summed and per store."""

    period: str
    total: list[FiguresOut]
    stores: list[StoreSeriesOut]

    @classmethod
    def of(cls, report: Report) -> SeriesOut:
        """From the service's report."""
        return cls(
            period=report.period.value,
            total=[FiguresOut.of(f) for f in report.total],
            stores=[
                StoreSeriesOut(
                    store_id=s.id, name=s.name, buckets=[FiguresOut.of(f) for f in report.per_store[s.id]]
                )
                for s in report.stores
            ],
        )


class PeakHoursOut(BaseModel):
    """GET /api/v1/reports/peak-hours: booked room-minutes per local hour of the day (0..23)."""

    first_day: date
    end_day: date
    minutes: list[int]


class RankOut(BaseModel):
    """A store's place in the ranking and its figures over the period."""

    rank: int
    store_id: str
    name: str
    figures: FiguresOut

    @classmethod
    def of(cls, rank: StoreRank) -> RankOut:
        """From the model's rank."""
        return cls(
            rank=rank.rank, store_id=rank.store_id, name=rank.name, figures=FiguresOut.of(rank.figures)
        )
