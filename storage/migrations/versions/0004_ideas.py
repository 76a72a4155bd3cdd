"""Ideas and their history (the idea pipeline).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ideas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("sector_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("partners", sa.JSON(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "under_review",
                "to_testbed",
                "piloting",
                "done",
                "declined",
                name="ideastatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_ideas_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"],
            ["members.id"],
            name=op.f("fk_ideas_submitted_by_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas")),
        sa.UniqueConstraint("code", name=op.f("uq_ideas_code")),
    )
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.create_index("ix_ideas_sector_created", ["sector_id", "created_at"], unique=False)
        batch_op.create_index("ix_ideas_status", ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_ideas_submitted_by"), ["submitted_by"], unique=False)

    op.create_table(
        "idea_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column(
            "status_from",
            sa.Enum(
                "new",
                "under_review",
                "to_testbed",
                "piloting",
                "done",
                "declined",
                name="ideastatus",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "status_to",
            sa.Enum(
                "new",
                "under_review",
                "to_testbed",
                "piloting",
                "done",
                "declined",
                name="ideastatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["members.id"],
            name=op.f("fk_idea_changes_changed_by_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"],
            ["ideas.id"],
            name=op.f("fk_idea_changes_idea_id_ideas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idea_changes")),
    )
    with op.batch_alter_table("idea_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idea_changes_changed_by"), ["changed_by"], unique=False
        )
        batch_op.create_index("ix_idea_changes_idea_at", ["idea_id", "changed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idea_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_idea_changes_idea_at")
        batch_op.drop_index(batch_op.f("ix_idea_changes_changed_by"))

    op.drop_table("idea_changes")
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ideas_submitted_by"))
        batch_op.drop_index("ix_ideas_status")
        batch_op.drop_index("ix_ideas_sector_created")

    op.drop_table("ideas")
