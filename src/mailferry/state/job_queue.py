"""procrastinate's schema (the job queue of ``mailferry worker``), in a schema of its own.

PostgreSQL only: on SQLite there is no job queue (``serve`` runs jobs in-process).
procrastinate's tables, types and functions live in a PostgreSQL schema beside ours
(``job_queue_schema``: ``procrastinate`` next to ``public``, ``<schema>_procrastinate``
next to any other), so the comparison of our metadata with the database sees only our
tables, and procrastinate's connections find its objects through their ``search_path``.

Created by revision 0009_workers (and by the fast path that creates a new database from
the metadata: ``schema.py`` listens for ``after_create``). A later procrastinate release
with schema changes gets a revision of ours that runs its migration scripts here
(``apply_job_queue_sql``), in the version order procrastinate documents.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def job_queue_schema(current: str) -> str:
    """The schema holding procrastinate's objects, beside the ``current`` one."""
    return "procrastinate" if current == "public" else f"{current}_procrastinate"


def current_schema(connection: Connection) -> str:
    return str(connection.execute(text("SELECT current_schema()")).scalar_one())


def procrastinate_schema_sql() -> str:
    from procrastinate.schema import SchemaManager

    return str(SchemaManager.get_schema())


def apply_job_queue_sql(connection: Connection, sql: str) -> None:
    """Run procrastinate's ``sql`` in its schema, inside the caller's transaction; the
    ``search_path`` is restored afterwards (the caller's statements follow)."""
    schema = job_queue_schema(current_schema(connection))
    previous = connection.execute(text("SELECT current_setting('search_path')")).scalar_one()
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    connection.execute(text("SELECT set_config('search_path', :p, true)"), {"p": f'"{schema}"'})
    try:
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute(sql)  # no parameters: procrastinate's text as it is
    finally:
        connection.execute(text("SELECT set_config('search_path', :p, true)"), {"p": previous})


def create_job_queue(connection: Connection) -> None:
    """procrastinate's current schema (PostgreSQL; nothing on SQLite)."""
    if connection.dialect.name != "postgresql":
        return
    apply_job_queue_sql(connection, procrastinate_schema_sql())


def drop_job_queue(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    schema = job_queue_schema(current_schema(connection))
    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
