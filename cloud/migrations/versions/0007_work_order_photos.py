"""Work-order notes and photos from the maintainer app.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "work_order_entries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("work_order_id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_work_order_entries_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_work_order_entries_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_entries")),
    )
    op.create_index(
        "ix_work_order_entries_order_at", "work_order_entries", ["work_order_id", "at"], unique=False
    )
    op.create_index(op.f("ix_work_order_entries_actor"), "work_order_entries", ["actor"], unique=False)
    op.create_table(
        "work_order_photos",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("work_order_id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("uploader", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_path", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_work_order_photos_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_work_order_photos_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_photos")),
    )
    op.create_index(
        op.f("ix_work_order_photos_work_order_id"), "work_order_photos", ["work_order_id"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_work_order_photos_work_order_id"), table_name="work_order_photos")
    op.drop_table("work_order_photos")
    op.drop_index(op.f("ix_work_order_entries_actor"), table_name="work_order_entries")
    op.drop_index("ix_work_order_entries_order_at", table_name="work_order_entries")
    op.drop_table("work_order_entries")
