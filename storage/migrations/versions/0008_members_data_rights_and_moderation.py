"""Members' data rights and moderation: forgotten and muted members, hidden messages,
reports, the audit log, and the indexes retention and flood control read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["members.id"],
            name=op.f("fk_audit_log_actor_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_reports_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by"],
            ["members.id"],
            name=op.f("fk_reports_reported_by_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_reported_by"), ["reported_by"], unique=False)

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("muted_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("slowed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hidden_by", sa.Integer(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_messages_member_id"))
        batch_op.drop_index("ix_messages_sector_created")
        batch_op.create_index(
            "ix_messages_sector_created", ["sector_id", "created_at", "member_id"], unique=False
        )
        batch_op.create_index("ix_messages_created", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_messages_member_created", ["member_id", "created_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_hidden_by_members"),
            "members",
            ["hidden_by"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_hidden_by_members"), type_="foreignkey")
        batch_op.drop_index("ix_messages_member_created")
        batch_op.drop_index("ix_messages_created")
        batch_op.drop_index("ix_messages_sector_created")
        batch_op.create_index(
            "ix_messages_sector_created", ["sector_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messages_member_id"), ["member_id"], unique=False)
        batch_op.drop_column("hidden_by")
        batch_op.drop_column("hidden_at")

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("slowed_at")
        batch_op.drop_column("muted_until")
        batch_op.drop_column("erased_at")

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_reported_by"))
        batch_op.drop_index(batch_op.f("ix_reports_message_id"))

    op.drop_table("reports")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))

    op.drop_table("audit_log")
