"""Engines, migrations and transactions for the web platform's database.

SQLite by default (a file ``felab.db`` in the working directory: nothing to install), PostgreSQL by URL
(``postgresql+psycopg://user@host/db``). The schema is only ever made by the Alembic migrations shipped in
``felab/store/migrations`` (``felab db upgrade``; ``felab serve`` applies them on start).

Writes go through ``transaction``: one database transaction, retried when a concurrent writer got there first
(SQLite reports a busy snapshot; a room's update finds its ``version`` changed: SQLAlchemy's optimistic
``version_id_col``), so a request either
lands whole or not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from ..domain import BadInput

DEFAULT_FILE = "felab.db"
MIGRATIONS = Path(__file__).with_name("migrations")
T = TypeVar("T")


class StoreError(BadInput):
    """A database the platform cannot use (a malformed URL, an unknown driver); one line for the user."""


class Conflict(Exception):
    """Another writer changed the row this transaction read; the transaction is retried from the start."""


def database_url(db: str | None) -> str:
    """``db`` as a SQLAlchemy URL: None is ``felab.db`` in the working directory, a plain path a SQLite file,
    anything with ``://`` a URL as given."""
    if not db:
        db = DEFAULT_FILE
    if "://" in db:
        try:
            make_url(db)
        except ArgumentError:
            raise StoreError(f"not a database URL: {db!r}; give a file path or e.g. "
                             "postgresql+psycopg://user@localhost/felab") from None
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL (readers never wait for the writer) and a busy
    timeout."""
    try:
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                if u.database and u.database != ":memory:":
                    cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            return engine
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as e:
        raise StoreError(f"cannot open database {url!r}: {e}; is the driver installed (pip install 'felab[web]')?") \
            from None


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def transaction(factory: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 20) -> T:
    """Run ``work(session)`` in one transaction and commit; on a conflict with a concurrent writer roll back and
    run it again (at most ``attempts`` times). An exception from ``work`` rolls everything back."""
    for attempt in range(attempts):
        with factory() as s:
            try:
                result = work(s)
                s.commit()
                return result
            except (Conflict, StaleDataError):
                s.rollback()
            except OperationalError as e:
                s.rollback()
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
        time.sleep(min(0.005 * 2 ** attempt, 0.2))
    raise Conflict(f"gave up after {attempts} conflicting attempts")


def _alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` with the shipped migrations (creates a SQLite file)."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(url), revision)
    except OperationalError as e:
        raise _unreachable(url, e) from None


def _unreachable(url: str, e: OperationalError) -> StoreError:
    shown = make_url(url).render_as_string(hide_password=True)
    return StoreError(f"cannot open the database {shown}: {str(e.orig).strip().splitlines()[0]}")


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as c:
            return MigrationContext.configure(c).get_current_revision()
    except OperationalError as e:
        raise _unreachable(engine.url.render_as_string(hide_password=False), e) from None


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
