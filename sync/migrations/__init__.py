"""Alembic migrations of the sync server's schema (SQLite and PostgreSQL)."""
