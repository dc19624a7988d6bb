"""Alembic migrations; `turnflow migrate` applies them."""
