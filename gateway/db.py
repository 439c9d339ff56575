"""Engines and sessions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlmodel import Session

from gateway.exceptions import ReadOnlySessionError

SQLITE_BUSY_MS = 30_000
POOL_RECYCLE_SECONDS = 1800  # PostgreSQL: connections are replaced after 30 minutes (no pre-ping)
# SQLSTATEs of a server that ended our session: admin_shutdown (pg_terminate_backend),
# crash_shutdown, cannot_connect_now.
DISCONNECT_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock at BEGIN so that two writers queue on busy_timeout instead
    # of failing with "database is locked" when a read transaction upgrades.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys.

    ``immediate=False`` leaves SQLite transactions deferred (the driver's default):
    only for observers that never write after reading, such as test assertions.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if not immediate:
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "isolation_level": None})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # No pre-ping: it costs a round trip on every checkout. A connection the server
    # dropped fails on its first statement instead; _disconnect_is_invalidation makes
    # SQLAlchemy invalidate it and every older pooled connection, so the next checkout
    # connects afresh (and the intake write retries once, gateway/fastwrite).
    engine = create_engine(url, pool_pre_ping=False, pool_recycle=POOL_RECYCLE_SECONDS, pool_size=5,
                           max_overflow=10)
    event.listen(engine, "handle_error", _disconnect_is_invalidation)
    return engine


def _disconnect_is_invalidation(context: Any) -> None:
    """Treat "the server ended this session" errors as disconnects (the pool then reconnects)."""
    error = context.original_exception
    if getattr(error, "sqlstate", None) in DISCONNECT_SQLSTATES:
        context.is_disconnect = True


def is_disconnect(exc: BaseException) -> bool:
    """True when ``exc`` is a database error whose connection was lost (and has been invalidated)."""
    return bool(getattr(exc, "connection_invalidated", False))


def new_session(engine: Engine) -> Session:
    """A session that keeps loaded objects usable after commit."""
    return Session(engine, expire_on_commit=False)


READ_ONLY = "read_only"  # Session.info key of a read session


def read_session(engine: Engine) -> Session:
    """A session for a request that only reads; a flush through it raises ReadOnlySessionError.

    On PostgreSQL its statements run in autocommit: no BEGIN before the first and no
    ROLLBACK when it closes, two round trips of a lookup's four. Each statement then
    sees the data committed when it starts, not one snapshot for the whole request.
    SQLite keeps a transaction (its BEGIN costs no round trip).
    """
    bind = autocommit_engine(engine) if engine.dialect.name == "postgresql" else engine
    return Session(bind, expire_on_commit=False, info={READ_ONLY: True})


@event.listens_for(Session, "before_flush")
def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    # In autocommit every flush would commit on its own: a write through a read session is a bug.
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlySessionError("a read session does not write")


_AUTOCOMMIT_ATTR = "_pakn_autocommit"


def autocommit_engine(bind: Engine | Connection) -> Engine:
    """``bind``'s engine in autocommit: the same pool, without transactions (made once per engine).

    Kept on the engine itself: a module-level cache would hold every engine for ever (the
    autocommit engine refers to its parent), while this reference cycle is collected.
    """
    engine = bind.engine
    found: Engine | None = engine.__dict__.get(_AUTOCOMMIT_ATTR)
    if found is None:
        found = engine.execution_options(isolation_level="AUTOCOMMIT")
        setattr(engine, _AUTOCOMMIT_ATTR, found)
    return found


def insert_for(session: Session) -> Any:
    """The dialect's ``insert`` (PostgreSQL's or SQLite's), whose ``on_conflict_*`` both engines run."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def copy_insert(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in the session's transaction, as ``insert(table)`` would.

    PostgreSQL: one ``COPY … FROM STDIN``, with the columns' Python-side defaults and
    bind processing (enums, timestamps) applied here as SQLAlchemy would apply them.
    Errors come out as SQLAlchemy's (``IntegrityError`` for a unique violation; a lost
    connection is invalidated, as the engine's own statements do). Elsewhere: executemany.
    """
    if session.info.get(READ_ONLY):
        raise ReadOnlySessionError("a read session does not write")
    if not rows:
        return
    session.flush()  # objects pending in the session go first, as before an INSERT
    if session.get_bind().dialect.name != "postgresql":
        session.execute(sa.insert(table), list(rows))
        return
    given = list(rows[0])
    defaulted = [c for c in table.c if c.name not in rows[0] and c.default is not None]
    columns = [table.c[name] for name in given] + defaulted
    _copy(session, table, columns, [[row[name] for name in given] + [_default(c) for c in defaulted]
                                    for row in rows])


def _copy(session: Session, table: sa.Table, columns: list[sa.Column[Any]], rows: list[list[Any]]) -> None:
    import psycopg

    connection = session.connection()
    dialect = connection.dialect
    processors = [c.type.bind_processor(dialect) for c in columns]
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    statement = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
    dbapi_connection: psycopg.Connection[Any] = connection.connection.dbapi_connection  # type: ignore[assignment]
    try:
        values = [[p(v) if p else v for p, v in zip(processors, row, strict=True)] for row in rows]
    except (ValueError, TypeError) as exc:  # what SQLAlchemy reports for a value its types refuse
        raise sa.exc.StatementError(str(exc), statement, None, exc) from exc
    with dbapi_connection.cursor() as cursor:
        try:
            with cursor.copy(statement) as copy:
                for row in values:
                    copy.write_row(row)
        except psycopg.Error as exc:
            lost = (dialect.is_disconnect(exc, dbapi_connection, cursor)  # type: ignore[arg-type]
                    or exc.sqlstate in DISCONNECT_SQLSTATES)
            if lost:
                connection.invalidate(exc)
            raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error,
                                              connection_invalidated=lost) from exc


def _default(column: sa.Column[Any]) -> Any:
    """A column's Python-side default for one row (callables are called, like SQLAlchemy does, per row).

    Only scalar and plain callable defaults: SQL expressions and sequences are the
    database's to evaluate, which COPY cannot ask it to do.
    """
    default = column.default
    if default is None:
        return None
    if default.is_clause_element or default.is_sequence:
        raise TypeError(f"copy_insert: {column.name}'s default is SQL; give its value")
    return default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
