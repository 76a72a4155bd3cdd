"""Persistence: SQLModel tables, database setup for SQLite and PostgreSQL, and migrations.

Nothing here imports `bot`, `adapters` or `scheduled`: storage is the bottom layer.
"""
