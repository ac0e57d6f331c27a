"""Fresh databases per test session: a SQLite file, or a new PostgreSQL database."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    return os.environ.get("TWINLENS_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def postgres_available() -> bool:
    try:
        engine = create_engine(postgres_admin_url(), connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def require_postgres() -> None:
    """Skip without PostgreSQL, unless CI said it must be there (then fail loudly)."""
    if not postgres_available():
        if os.environ.get("TWINLENS_TEST_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL required but unreachable at {postgres_admin_url()}")
        pytest.skip("PostgreSQL not reachable; set TWINLENS_TEST_POSTGRES_URL")


@contextmanager
def fresh_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    """A URL to an empty database of the backend, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / 'twinlens-test.db'}"
        return
    require_postgres()
    admin = make_url(postgres_admin_url())
    name = f"twinlens_test_{secrets.token_hex(4)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        from shared.db import dispose_engines

        dispose_engines()
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def upgrade(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(Path(__file__).resolve().parents[2] / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
