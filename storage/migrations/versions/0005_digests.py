"""Digest subscriptions, the digests sent for them, and the scheduler lease (SQLite).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lease")),
    )
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=1000), nullable=False),
        sa.Column("thread_ref", sa.String(length=100), nullable=True),
        sa.Column("sector_id", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["members.id"],
            name=op.f("fk_digest_subscriptions_created_by_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_digest_subscriptions_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_subscriptions")),
    )
    op.create_table(
        "digest_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("sector_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_digest_issues_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_digest_issues_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["digest_subscriptions.id"],
            name=op.f("fk_digest_issues_subscription_id_digest_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_issues")),
        # One digest per subscription, sector and week: what makes it go out once.
        sa.UniqueConstraint(
            "subscription_id",
            "sector_id",
            "period",
            name=op.f("uq_digest_issues_subscription_id_sector_id_period"),
        ),
    )
    with op.batch_alter_table("digest_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digest_issues_outbox_id"), ["outbox_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_digest_issues_sector_id"), ["sector_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digest_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digest_issues_sector_id"))
        batch_op.drop_index(batch_op.f("ix_digest_issues_outbox_id"))

    op.drop_table("digest_issues")
    op.drop_table("digest_subscriptions")
    op.drop_table("scheduler_lease")
