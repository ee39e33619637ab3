"""Availability hub: holds and money on bookings, the occupied range, blocked slots, booking settings,
store hours and room details, the holiday calendar; on PostgreSQL the no-overlap exclusion constraint.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OCCUPYING_SQL = "status IN ('held', 'confirmed', 'redeemed', 'completed')"
EPOCH = "1970-01-01 00:00:00"


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    """Apply this revision."""
    # Stores: where they are, when they open.
    op.add_column("stores", sa.Column("city", sa.String(length=100), nullable=False, server_default=""))
    op.add_column("stores", sa.Column("area", sa.String(length=100), nullable=False, server_default=""))
    op.add_column("stores", sa.Column("opening_hours", sa.JSON(), nullable=True))
    op.add_column("stores", sa.Column("closed_dates", sa.JSON(), nullable=False, server_default="[]"))

    # Rooms: type, capacity, facilities, price plan. Existing rooms take their kind as their type.
    op.add_column("rooms", sa.Column("room_type", sa.String(length=40), nullable=False, server_default=""))
    op.execute("UPDATE rooms SET room_type = kind")
    op.add_column("rooms", sa.Column("capacity_min", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("rooms", sa.Column("capacity_max", sa.Integer(), nullable=True))
    op.add_column("rooms", sa.Column("facilities", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("rooms", sa.Column("price_plan", sa.JSON(), nullable=True))

    # Bookings: the occupied range (existing bookings had no cleaning gap), holds, money, terms.
    if _postgres():
        op.add_column("bookings", sa.Column("occupied_until", sa.DateTime(timezone=True), nullable=True))
        op.execute("UPDATE bookings SET occupied_until = ends_at")
        op.alter_column("bookings", "occupied_until", nullable=False)
    else:
        # SQLite adds a NOT NULL column only with a default; every row is then set from ends_at.
        op.add_column(
            "bookings",
            sa.Column("occupied_until", sa.DateTime(timezone=True), nullable=False, server_default=EPOCH),
        )
        op.execute("UPDATE bookings SET occupied_until = ends_at")
    op.add_column("bookings", sa.Column("party_size", sa.Integer(), nullable=True))
    op.add_column(
        "bookings", sa.Column("source", sa.String(length=20), nullable=False, server_default="admin")
    )
    op.add_column("bookings", sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("bookings", sa.Column("price_total", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("bookings", sa.Column("deposit_due", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("bookings", sa.Column("amount_paid", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("bookings", sa.Column("payment_ref", sa.String(length=100), nullable=True))
    op.add_column("bookings", sa.Column("refund_amount", sa.Integer(), nullable=True))
    op.add_column("bookings", sa.Column("refund_ref", sa.String(length=100), nullable=True))
    op.add_column("bookings", sa.Column("quote", sa.JSON(), nullable=True))
    op.add_column("bookings", sa.Column("terms", sa.JSON(), nullable=True))
    op.add_column("bookings", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("bookings", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE bookings SET confirmed_at = created_at WHERE status <> 'cancelled'")
    op.create_index("ix_bookings_status_hold", "bookings", ["status", "hold_expires_at"], unique=False)
    if _postgres():
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_room_occupied EXCLUDE USING gist "
            "(room_id WITH =, tstzrange(starts_at, occupied_until, '[)') WITH &&) "
            f"WHERE ({OCCUPYING_SQL})"
        )

    op.create_table(
        "blocked_slots",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("room_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_blocked_slots_room_id_rooms")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_blocked_slots_store_id_stores")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_blocked_slots_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocked_slots")),
        sa.UniqueConstraint(
            "room_id", "kind", "starts_at", "ends_at", name=op.f("uq_blocked_slots_room_id_kind_starts_at_ends_at")
        ),
    )
    op.create_index(
        "ix_blocked_slots_room_window", "blocked_slots", ["room_id", "starts_at", "ends_at"], unique=False
    )
    op.create_index(op.f("ix_blocked_slots_store_id"), "blocked_slots", ["store_id"], unique=False)
    op.create_index(op.f("ix_blocked_slots_tenant_id"), "blocked_slots", ["tenant_id"], unique=False)

    op.create_table(
        "booking_settings",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("bounds", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_booking_settings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "level", "scope", name=op.f("pk_booking_settings")),
    )

    op.create_table(
        "calendar_days",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_calendar_days_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "day", name=op.f("pk_calendar_days")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("calendar_days")
    op.drop_table("booking_settings")
    op.drop_index(op.f("ix_blocked_slots_tenant_id"), table_name="blocked_slots")
    op.drop_index(op.f("ix_blocked_slots_store_id"), table_name="blocked_slots")
    op.drop_index("ix_blocked_slots_room_window", table_name="blocked_slots")
    op.drop_table("blocked_slots")
    if _postgres():
        op.execute("ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_room_occupied")
    op.drop_index("ix_bookings_status_hold", table_name="bookings")
    with op.batch_alter_table("bookings") as batch:
        for column in (
            "cancelled_at",
            "confirmed_at",
            "terms",
            "quote",
            "refund_ref",
            "refund_amount",
            "payment_ref",
            "amount_paid",
            "deposit_due",
            "price_total",
            "hold_expires_at",
            "source",
            "party_size",
            "occupied_until",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("rooms") as batch:
        for column in ("price_plan", "facilities", "capacity_max", "capacity_min", "room_type"):
            batch.drop_column(column)
    with op.batch_alter_table("stores") as batch:
        for column in ("closed_dates", "opening_hours", "area", "city"):
            batch.drop_column(column)
