"""Shared foundations: settings, database access, unit of work, errors and small shared types."""
