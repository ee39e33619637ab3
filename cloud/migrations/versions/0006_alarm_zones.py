"""Alarm zones of rooms and store-wide devices.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # Existing rooms and devices have no zone: an alarm there opens the whole store, as before.
    op.add_column("rooms", sa.Column("zone", sa.String(length=40), nullable=False, server_default=""))
    op.add_column("devices", sa.Column("zone", sa.String(length=40), nullable=False, server_default=""))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("zone")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("zone")
