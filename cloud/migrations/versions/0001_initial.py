"""Initial schema: tenancy, devices, store keys, bookings, API tokens, audit log, edge link.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_tenant_at", "audit_log", ["tenant_id", "at"], unique=False)

    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_api_tokens_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api_tokens")),
    )
    op.create_index(op.f("ix_api_tokens_tenant_id"), "api_tokens", ["tenant_id"], unique=False)

    op.create_table(
        "regions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_regions_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regions")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_regions_tenant_id_name")),
    )
    op.create_index(op.f("ix_regions_tenant_id"), "regions", ["tenant_id"], unique=False)

    op.create_table(
        "stores",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("region_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("early_grace_s", sa.Integer(), nullable=False),
        sa.Column("feed_cursor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=op.f("fk_stores_region_id_regions")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_stores_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_stores_tenant_id_name")),
    )
    op.create_index(op.f("ix_stores_region_id"), "stores", ["region_id"], unique=False)
    op.create_index(op.f("ix_stores_tenant_id"), "stores", ["tenant_id"], unique=False)

    op.create_table(
        "edge_commands",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("edge_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_edge_commands_store_id_stores")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_edge_commands_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edge_commands")),
    )
    op.create_index(op.f("ix_edge_commands_store_id"), "edge_commands", ["store_id"], unique=False)
    op.create_index(op.f("ix_edge_commands_tenant_id"), "edge_commands", ["tenant_id"], unique=False)

    op.create_table(
        "edges",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cert_serial", sa.String(length=64), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("software_version", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_edges_store_id_stores")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_edges_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edges")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_edges_token_hash")),
    )
    op.create_index(op.f("ix_edges_store_id"), "edges", ["store_id"], unique=False)
    op.create_index(op.f("ix_edges_tenant_id"), "edges", ["tenant_id"], unique=False)

    op.create_table(
        "rooms",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_rooms_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("store_id", "name", name=op.f("uq_rooms_store_id_name")),
    )
    op.create_index(op.f("ix_rooms_store_id"), "rooms", ["store_id"], unique=False)

    op.create_table(
        "store_feed",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_store_feed_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_feed")),
        sa.UniqueConstraint(
            "store_id", "entity", "entity_id", name=op.f("uq_store_feed_store_id_entity_entity_id")
        ),
    )
    op.create_index("ix_store_feed_store_cursor", "store_feed", ["store_id", "cursor"], unique=False)

    op.create_table(
        "store_keys",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_store_keys_store_id_stores")),
        sa.PrimaryKeyConstraint("store_id", "version", name=op.f("pk_store_keys")),
    )
    op.create_table(
        "bookings",
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("room_id", sa.String(length=40), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("phone_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("phone_last4", sa.String(length=4), nullable=False),
        sa.Column("order_no", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_bookings_room_id_rooms")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_bookings_store_id_stores")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_bookings_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_bookings")),
        sa.UniqueConstraint("store_id", "order_no", name=op.f("uq_bookings_store_id_order_no")),
    )
    op.create_index("ix_bookings_room_window", "bookings", ["room_id", "starts_at", "ends_at"], unique=False)
    op.create_index(op.f("ix_bookings_store_id"), "bookings", ["store_id"], unique=False)
    op.create_index(op.f("ix_bookings_tenant_id"), "bookings", ["tenant_id"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("room_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("protocol", sa.String(length=40), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_devices_room_id_rooms")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_devices_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )
    op.create_index(op.f("ix_devices_room_id"), "devices", ["room_id"], unique=False)
    op.create_index(op.f("ix_devices_store_id"), "devices", ["store_id"], unique=False)

    op.create_table(
        "edge_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("edge_id", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["edge_id"], ["edges.id"], name=op.f("fk_edge_events_edge_id_edges")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edge_events")),
        sa.UniqueConstraint("edge_id", "seq", name=op.f("uq_edge_events_edge_id_seq")),
    )
    op.create_index("ix_edge_events_store_id", "edge_events", ["store_id", "id"], unique=False)

    op.create_table(
        "redemptions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("edge_id", sa.String(length=40), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("booking_ref", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("known_to_edge", sa.Boolean(), nullable=False),
        sa.Column("known_to_cloud", sa.Boolean(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["edge_id"], ["edges.id"], name=op.f("fk_redemptions_edge_id_edges")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
    )
    op.create_index("ix_redemptions_store_id", "redemptions", ["store_id", "id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_redemptions_store_id", table_name="redemptions")

    op.drop_table("redemptions")
    op.drop_index("ix_edge_events_store_id", table_name="edge_events")

    op.drop_table("edge_events")
    op.drop_index(op.f("ix_devices_store_id"), table_name="devices")
    op.drop_index(op.f("ix_devices_room_id"), table_name="devices")

    op.drop_table("devices")
    op.drop_index(op.f("ix_bookings_tenant_id"), table_name="bookings")
    op.drop_index(op.f("ix_bookings_store_id"), table_name="bookings")
    op.drop_index("ix_bookings_room_window", table_name="bookings")

    op.drop_table("bookings")
    op.drop_table("store_keys")
    op.drop_index("ix_store_feed_store_cursor", table_name="store_feed")

    op.drop_table("store_feed")
    op.drop_index(op.f("ix_rooms_store_id"), table_name="rooms")

    op.drop_table("rooms")
    op.drop_index(op.f("ix_edges_tenant_id"), table_name="edges")
    op.drop_index(op.f("ix_edges_store_id"), table_name="edges")

    op.drop_table("edges")
    op.drop_index(op.f("ix_edge_commands_tenant_id"), table_name="edge_commands")
    op.drop_index(op.f("ix_edge_commands_store_id"), table_name="edge_commands")

    op.drop_table("edge_commands")
    op.drop_index(op.f("ix_stores_tenant_id"), table_name="stores")
    op.drop_index(op.f("ix_stores_region_id"), table_name="stores")

    op.drop_table("stores")
    op.drop_index(op.f("ix_regions_tenant_id"), table_name="regions")

    op.drop_table("regions")
    op.drop_index(op.f("ix_api_tokens_tenant_id"), table_name="api_tokens")

    op.drop_table("api_tokens")
    op.drop_table("tenants")
    op.drop_index("ix_audit_log_tenant_at", table_name="audit_log")

    op.drop_table("audit_log")
