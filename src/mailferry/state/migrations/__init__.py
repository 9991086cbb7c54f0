"""Alembic environment and revisions of the state database (run by ``state.migrate``)."""
