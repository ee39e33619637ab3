"""Pure rules of orders: what an order may ask for, and how it splits into one booking per store item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cloud.errors import Invalid

MAX_ITEMS = 10


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One room's time an order asks for."""

    room_id: str
    starts_at: datetime
    ends_at: datetime
    party_size: int


def check_items(items: Sequence[OrderItem]) -> tuple[OrderItem, ...]:
    """The items of a valid order: 1..MAX_ITEMS, no two asking for overlapping time of one room."""
    if not items:
        raise Invalid("an order needs at least one item", code="empty_order", field="items")
    if len(items) > MAX_ITEMS:
        raise Invalid(f"an order holds at most {MAX_ITEMS} items", code="too_many_items", field="items")
    for i, a in enumerate(items):
        for j in range(i + 1, len(items)):
            b = items[j]
            if a.room_id == b.room_id and a.starts_at < b.ends_at and b.starts_at < a.ends_at:
                raise Invalid(
                    f"items {i} and {j} ask for overlapping time of one room",
                    code="overlapping_items",
                    field=f"items.{j}",
                )
    return tuple(items)


def split_by_store(store_of: Sequence[str]) -> dict[str, list[int]]:
    """Item positions grouped by store, in order of first appearance (one booking per item)."""
    groups: dict[str, list[int]] = {}
    for position, store_id in enumerate(store_of):
        groups.setdefault(store_id, []).append(position)
    return groups


def deposit_total(deposits: Sequence[int]) -> int:
    """What paying an order's deposits at once costs."""
    return sum(deposits)
