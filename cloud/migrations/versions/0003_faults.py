"""Fault work orders: one per fault an edge reports, routed by region and severity.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "work_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("region_id", sa.String(length=40), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("edge_id", sa.String(length=40), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("fault_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("device_kind", sa.String(length=40), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=True),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("assignee_role", sa.String(length=40), nullable=False),
        sa.Column("hq_alert", sa.Boolean(), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("edge_sync", sa.String(length=20), nullable=True),
        sa.Column("edge_sync_code", sa.String(length=60), nullable=True),
        sa.Column("edge_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=op.f("fk_work_orders_region_id_regions")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_work_orders_store_id_stores")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_work_orders_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
        sa.UniqueConstraint("store_id", "fault_id", name=op.f("uq_work_orders_store_id_fault_id")),
    )
    op.create_index("ix_work_orders_region_state", "work_orders", ["region_id", "state"], unique=False)
    op.create_index(op.f("ix_work_orders_store_id"), "work_orders", ["store_id"], unique=False)
    op.create_index("ix_work_orders_tenant_state", "work_orders", ["tenant_id", "state"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_work_orders_tenant_state", table_name="work_orders")
    op.drop_index(op.f("ix_work_orders_store_id"), table_name="work_orders")
    op.drop_index("ix_work_orders_region_state", table_name="work_orders")
    op.drop_table("work_orders")
