"""The web platform's first schema: participants, documents, questions, experiments, rooms and their seats,
turn times, exposures and quote checks.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("is_facilitator", sa.Boolean, nullable=False),
        sa.Column("agent_spec", sa.JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("license", sa.Text, nullable=False),
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("document_id", sa.String(200), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("protocol", sa.String(100), nullable=False),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("judge_pool", sa.JSON, nullable=False),
        sa.Column("quote_checks", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id"), nullable=False),
        sa.Column("question_id", sa.String(200), sa.ForeignKey("questions.id"), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("rooms.id"), nullable=True),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("game_json", sa.Text, nullable=False),
        sa.Column("position", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
    )
    op.create_table(
        "seats",
        sa.Column("room_id", sa.Integer, sa.ForeignKey("rooms.id"), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("participant_id", sa.Integer, sa.ForeignKey("participants.id"), nullable=False),
    )
    op.create_table(
        "turn_times",
        sa.Column("room_id", sa.Integer, sa.ForeignKey("rooms.id"), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("participant_id", sa.Integer, sa.ForeignKey("participants.id"), nullable=True),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("revealed_at", TS, nullable=True),
        sa.Column("seconds_spent", sa.Float, nullable=True),
    )
    op.create_table(
        "exposures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("participant_id", sa.Integer, sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("document_id", sa.String(200), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("room_id", sa.Integer, sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("participant_id", "document_id", "kind", "room_id"),
    )
    op.create_table(
        "quote_checks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("room_id", sa.Integer, sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("participant_id", sa.Integer, sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("query_text", sa.Text, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("span_begin", sa.Integer, nullable=True),
        sa.Column("span_end", sa.Integer, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("quote_checks", "exposures", "turn_times", "seats", "rooms", "experiments", "questions",
                  "documents", "participants"):
        op.drop_table(table)
