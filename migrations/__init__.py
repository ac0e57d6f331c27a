"""Alembic migrations of the twinlens schema."""
