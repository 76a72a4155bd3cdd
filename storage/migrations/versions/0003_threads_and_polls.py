"""Dialogue threads, polls and their votes, posts of both in channels; messages know
their thread; outbox entries can edit another entry's message and be coalesced.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sector_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("multi", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "closed", name="pollstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("salt", sa.String(length=64), nullable=True),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["members.id"],
            name=op.f("fk_polls_created_by_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_polls_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
    )
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.create_index("ix_polls_sector_created", ["sector_id", "created_at"], unique=False)
        batch_op.create_index("ix_polls_status_closes", ["status", "closes_at"], unique=False)

    op.create_table(
        "threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sector_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "closed", name="threadstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["opened_by"],
            ["members.id"],
            name=op.f("fk_threads_opened_by_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sectors.id"],
            name=op.f("fk_threads_sector_id_sectors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threads")),
    )
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.create_index("ix_threads_sector_opened", ["sector_id", "opened_at"], unique=False)

    op.create_table(
        "channel_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("poll_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_posts_channel_id_channels"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_channel_posts_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["polls.id"],
            name=op.f("fk_channel_posts_poll_id_polls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_channel_posts_thread_id_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_posts")),
    )
    with op.batch_alter_table("channel_posts", schema=None) as batch_op:
        batch_op.create_index("ix_channel_posts_chat", ["platform", "chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_posts_outbox_id"), ["outbox_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_posts_poll_id"), ["poll_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_posts_thread_id"), ["thread_id"], unique=False)

    op.create_table(
        "poll_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("voter_key", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("option", sa.Integer(), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_poll_votes_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls.id"], name=op.f("fk_poll_votes_poll_id_polls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_votes")),
        sa.UniqueConstraint(
            "poll_id", "voter_key", "option", name=op.f("uq_poll_votes_poll_id_voter_key_option")
        ),
    )
    with op.batch_alter_table("poll_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_votes_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_poll_votes_poll_option", ["poll_id", "option"], unique=False)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_messages_thread_id"), ["thread_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_thread_id_threads"),
            "threads",
            ["thread_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edit_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("coalesce_key", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_coalesce_key"), ["coalesce_key"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_edit_of_outbox"),
            "outbox",
            ["edit_of"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_edit_of_outbox"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_coalesce_key"))
        batch_op.drop_column("coalesce_key")
        batch_op.drop_column("edit_of")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_thread_id_threads"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_messages_thread_id"))
        batch_op.drop_column("thread_id")

    with op.batch_alter_table("poll_votes", schema=None) as batch_op:
        batch_op.drop_index("ix_poll_votes_poll_option")
        batch_op.drop_index(batch_op.f("ix_poll_votes_member_id"))

    op.drop_table("poll_votes")
    with op.batch_alter_table("channel_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_posts_thread_id"))
        batch_op.drop_index(batch_op.f("ix_channel_posts_poll_id"))
        batch_op.drop_index(batch_op.f("ix_channel_posts_outbox_id"))
        batch_op.drop_index("ix_channel_posts_chat")

    op.drop_table("channel_posts")
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_index("ix_threads_sector_opened")

    op.drop_table("threads")
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.drop_index("ix_polls_status_closes")
        batch_op.drop_index("ix_polls_sector_created")

    op.drop_table("polls")
