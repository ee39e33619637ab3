"""Alembic revisions of the cloud database."""
