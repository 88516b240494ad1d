"""Persistence for leadloop: SQLModel tables, the engine, queries and migrations."""
