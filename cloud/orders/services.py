"""Order use cases: hold every item all-or-nothing (one booking per item, grouped by store), find by token."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.model import Principal, in_reach
from cloud.booking import services as booking_services
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.errors import DomainError, NotFound
from cloud.ids import new_id, new_secret_token, token_hash
from cloud.orders import model
from cloud.orders.model import OrderItem
from cloud.orders.tables import Order, OrderBooking
from cloud.tenancy.model import clean_name
from cloud.uow import UnitOfWork

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "gho"


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """A new order, the secret token of its customer page (shown once) and its held bookings."""

    order: Order
    token: str
    bookings: list[Booking]


def customer_principal(order: Order) -> Principal:
    """Who acts when the customer uses the order's page."""
    return Principal(tenant_id=order.tenant_id, actor=f"customer:{order.id}")


async def _release(uow: UnitOfWork, clock: Clock, principal: Principal, refs: Sequence[str]) -> None:
    """Give back the time of holds already made (all-or-nothing)."""
    for ref in refs:
        try:
            await booking_services.cancel_booking(uow, clock, principal, ref)
        except DomainError:  # it lapsed or moved on meanwhile: its time is free either way
            await uow.rollback()
            logger.warning("could not release a hold of a failed order", extra={"ref": ref})


async def place_order(
    uow: UnitOfWork,
    clock: Clock,
    cipher: FieldCipher,
    principal: Principal,
    *,
    items: Sequence[OrderItem],
    customer_name: str,
    phone: str,
) -> PlacedOrder:
    """Hold every item (one booking each, in any of the tenant's stores) or none; the order is paid once."""
    checked = model.check_items(items)
    name = clean_name(customer_name, "customer.name")
    held: list[Booking] = []
    refs: list[str] = []  # plain values: a rollback expires the rows
    for position, item in enumerate(checked):
        try:
            booking = await booking_services.hold(
                uow,
                clock,
                cipher,
                principal,
                room_id=item.room_id,
                starts_at=item.starts_at,
                ends_at=item.ends_at,
                party_size=item.party_size,
                customer_name=name,
                phone=phone,
            )
        except DomainError as err:
            await uow.rollback()
            await _release(uow, clock, principal, refs)
            err.field = f"items.{position}.{err.field}" if err.field else f"items.{position}"
            err.extra = {**err.extra, "item": position}
            raise
        held.append(booking)
        refs.append(booking.ref)
    token = new_secret_token(TOKEN_PREFIX)
    order = Order(
        id=new_id("ord", 12),
        tenant_id=principal.tenant_id,
        access_hash=token_hash(token),
        customer_name=name,
        created_at=clock.now(),
    )
    try:
        uow.session.add(order)
        await uow.session.flush()
        for position, booking in enumerate(held):
            uow.session.add(
                OrderBooking(
                    booking_ref=booking.ref, order_id=order.id, store_id=booking.store_id, position=position
                )
            )
        await uow.commit()
    except BaseException:
        await uow.rollback()
        await _release(uow, clock, principal, refs)
        raise
    groups = model.split_by_store([b.store_id for b in held])
    logger.info(
        "order placed",
        extra={"order_id": order.id, "bookings": len(held), "stores": len(groups)},
    )
    return PlacedOrder(order=order, token=token, bookings=held)


async def order_by_token(session: AsyncSession, token: str) -> Order:
    """The order whose customer page token this is (NotFound otherwise)."""
    order = await session.scalar(select(Order).where(Order.access_hash == token_hash(token)))
    if order is None:
        raise NotFound("no such order", code="order_not_found", field="token")
    return order


async def get_order(session: AsyncSession, principal: Principal, order_id: str) -> Order:
    """One of the caller's orders (NotFound for another tenant's)."""
    order = await session.get(Order, order_id)
    if order is None or order.tenant_id != principal.tenant_id:
        raise NotFound(f"no order {order_id}", code="order_not_found", field="order_id")
    return order


async def reached_order(session: AsyncSession, principal: Principal, order_id: str) -> Order:
    """An order with at least one booking in the caller's reach (NotFound otherwise: never tell why)."""
    order = await get_order(session, principal, order_id)
    if principal.tenant_wide:
        return order
    links = await session.execute(
        select(OrderBooking.booking_ref, OrderBooking.store_id).where(OrderBooking.order_id == order.id)
    )
    if not any(in_reach(principal, order.tenant_id, store_id=s, booking_ref=r) for r, s in links):
        raise NotFound(f"no order {order_id}", code="order_not_found", field="order_id")
    return order


def visible_bookings(principal: Principal, bookings: Sequence[Booking]) -> list[Booking]:
    """The bookings of an order the caller may see (a store manager sees their store's part)."""
    return [b for b in bookings if in_reach(principal, b.tenant_id, store_id=b.store_id, booking_ref=b.ref)]


async def order_bookings(session: AsyncSession, order_id: str, *, active_only: bool = True) -> list[Booking]:
    """The bookings of an order, in item order (replaced ones left out unless asked)."""
    query = (
        select(Booking)
        .join(OrderBooking, OrderBooking.booking_ref == Booking.ref)
        .where(OrderBooking.order_id == order_id)
        .order_by(OrderBooking.position, Booking.created_at)
        .execution_options(populate_existing=True)
    )
    if active_only:
        query = query.where(OrderBooking.active.is_(True))
    return list(await session.scalars(query))


async def order_of_booking(session: AsyncSession, ref: str) -> OrderBooking | None:
    """The order link of a booking, if it belongs to an order."""
    return await session.get(OrderBooking, ref)
