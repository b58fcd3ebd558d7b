"""The usage database's Alembic migrations (run by `migrate`, never imported by the gateway)."""
