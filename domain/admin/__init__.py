"""Workspace administration: /leadloop parsing, roles and settings."""
