"""Database engines and sessions: one engine per URL per process, SQLite made fit for it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from shared.settings import get_settings


def _tune_sqlite(dbapi_connection, _record) -> None:
    # WAL lets the web read while a worker writes; busy_timeout waits for a writer instead of
    # failing with "database is locked"; SQLite ignores foreign keys unless told.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_engines: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """The engine for url (default: the settings' database), made once per process."""
    url = url or get_settings().resolved_database_url
    if url not in _engines:
        _engines[url] = _create_engine(url)
    return _engines[url]


def _create_engine(url: str) -> Engine:
    # Pooled connections are pinged so that a restarted PostgreSQL costs a reconnect, not an
    # error on the first statement.
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


def dispose_engines() -> None:
    """Drop pooled connections, e.g. in a forked child or between tests."""
    while _engines:
        _engines.popitem()[1].dispose()
