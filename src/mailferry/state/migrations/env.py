"""Alembic environment for the state database.

``mailferry.state.migrate`` runs this with an open connection already inside a
transaction (``config.attributes["connection"]``), so every revision commits or rolls
back with it. For development (``alembic revision --autogenerate``) a
``sqlalchemy.url`` main option is used instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from mailferry.state.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite ALTERs go through batch (copy-and-move) mode
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("mailferry's state migrations run online only")
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as new_connection:
        _run(new_connection)
    engine.dispose()


_main()
