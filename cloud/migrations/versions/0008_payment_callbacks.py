"""Payment callback nonces, rejected callbacks and refund retries.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("payment_refunds") as batch:
        batch.add_column(sa.Column("store_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
    op.create_index(
        "ix_payment_refunds_status_next_try_at", "payment_refunds", ["status", "next_try_at"], unique=False
    )
    op.create_table(
        "payment_callback_nonces",
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_payment_callback_nonces")),
    )
    op.create_index(
        op.f("ix_payment_callback_nonces_signed_at"), "payment_callback_nonces", ["signed_at"], unique=False
    )
    op.create_table(
        "payment_rejected_callbacks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=True),
        sa.Column("payment_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_payment_rejected_callbacks_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_rejected_callbacks")),
    )
    op.create_index(
        op.f("ix_payment_rejected_callbacks_tenant_id"),
        "payment_rejected_callbacks",
        ["tenant_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_payment_rejected_callbacks_received_at"),
        "payment_rejected_callbacks",
        ["received_at"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("payment_rejected_callbacks")
    op.drop_table("payment_callback_nonces")
    op.drop_index("ix_payment_refunds_status_next_try_at", table_name="payment_refunds")
    with op.batch_alter_table("payment_refunds") as batch:
        batch.drop_column("last_error")
        batch.drop_column("next_try_at")
        batch.drop_column("attempts")
        batch.drop_column("store_id")
