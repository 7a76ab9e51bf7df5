"""The web platform's tables (SQLAlchemy 2 ORM). The schema itself is created by the Alembic migrations in
``felab/store/migrations``; these classes must match them (tests/web/test_store.py compares the two).

A room's record is one ``felab.domain.Game`` as its own JSON (``rooms.game_json``, written by the lab's
``Game.to_json``): the lab's engine reads and advances it, so the store never re-implements the rules. Sub-games
of factored evaluation are rooms of their own (``parent_id``) so each has its own judge; the export puts them
back into the parent's ``children``. What a Game does not hold lives beside it: who sat where (``seats``), when
each turn was submitted and revealed (``turn_times``; never shown to judges), who has seen which document
(``exposures``), and the judge's quote checks (``quote_checks``).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Participant(Base):
    """A person (with a scrypt password hash) or an agent of the lab (``agent_spec``: the agent's name and
    settings, e.g. ``{"agent": "scripted:honest"}``). Facilitators run experiments; everyone else plays seats."""

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # 'human' | 'agent'
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_facilitator: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_spec: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class DocumentRow(Base):
    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(Text, default="")


class QuestionRow(Base):
    """A question with its whole record (``Question.to_dict``: options, gold, support, sub-questions)."""

    __tablename__ = "questions"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    record: Mapped[dict] = mapped_column(JSON)


class Experiment(Base):
    """A study: one protocol (its name and the rules as data, copied when the experiment is made so later edits
    of the preset file do not change a running study)."""

    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    protocol: Mapped[str] = mapped_column(String(100))
    rules: Mapped[dict] = mapped_column(JSON)
    judge_pool: Mapped[list] = mapped_column(JSON, default=list)  # participant ids who may judge sub-games
    quote_checks: Mapped[int] = mapped_column(Integer, default=0)  # oracle checks a judge may make per room
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    rooms: Mapped[list[Room]] = relationship(back_populates="experiment", order_by="Room.id")


class Room(Base):
    """One game being played: the lab's ``GameState`` is ``game_json`` (the record) plus ``position`` (where the
    engine stands). ``version`` grows by one on every change (compare-and-swap against concurrent submits; the
    live updates watch it)."""

    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), nullable=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # 'open' | 'ended'
    game_json: Mapped[str] = mapped_column(Text)
    position: Mapped[dict] = mapped_column(JSON, default=dict)  # the engine's place: round, spoken, queue, ...
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    experiment: Mapped[Experiment] = relationship(back_populates="rooms")
    __mapper_args__ = {"version_id_col": version}
    seats: Mapped[list[SeatRow]] = relationship(back_populates="room", order_by="SeatRow.role")


class SeatRow(Base):
    __tablename__ = "seats"
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    room: Mapped[Room] = relationship(back_populates="seats")
    participant: Mapped[Participant] = relationship()


class TurnTime(Base):
    """When turn ``idx`` of a room's game was submitted and revealed, and how long its author took: for the
    researcher's export only (judges never see per-speech times: julianmichael/debate#17)."""

    __tablename__ = "turn_times"
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    revealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    seconds_spent: Mapped[float | None] = mapped_column(Float, nullable=True)


EXPOSURE_KINDS = ("read_as_expert", "judged", "forfeited")


class Exposure(Base):
    """Who has seen which document, and how; the scheduler refuses a judge seat on an exposed document."""

    __tablename__ = "exposures"
    __table_args__ = (UniqueConstraint("participant_id", "document_id", "kind", "room_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    kind: Mapped[str] = mapped_column(String(32))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class QuoteCheck(Base):
    """A judge asking whether a text comes from the hidden document (Ought's oracle), rate-limited and logged."""

    __tablename__ = "quote_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    query_text: Mapped[str] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(Boolean)
    span_begin: Mapped[int | None] = mapped_column(Integer, nullable=True)
    span_end: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
