"""Alembic migrations of the portal's database, run by portal.db.migrate."""
