"""Members: where their language came from, their recent detected languages, and when the
first-contact questions were answered or skipped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "language_source",
                sa.Enum("set", "hint", "detected", native_enum=False, length=32),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("recent_languages", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("onboarded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("onboarded_at")
        batch_op.drop_column("recent_languages")
        batch_op.drop_column("language_source")
