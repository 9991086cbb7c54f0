"""Schema creation from empty, the Alembic/metadata match, connection settings, safe
concurrent opens."""

from __future__ import annotations

import multiprocessing
import threading
from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from mailferry.errors import StateError
from mailferry.state import StateStore
from mailferry.state.database import create_state_engine
from mailferry.state.migrate import HEAD, current_revisions, head_revisions, upgrade_to_head
from mailferry.state.schema import metadata
from tests.state.conftest import alembic_upgrade

TABLES = {"mailboxes", "folders", "message_pairs", "skipped_items", "endpoints", "batches"}


def test_open_creates_the_schema_from_empty(db_url: str) -> None:
    engine = create_engine(db_url)
    assert not TABLES & set(inspect(engine).get_table_names())
    StateStore.open(db_url).close()
    assert TABLES | {"alembic_version"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert current_revisions(connection) == head_revisions() == {HEAD}
    engine.dispose()


def test_migrated_schema_matches_the_metadata(db_url: str) -> None:
    """Built by the Alembic scripts, not the metadata: a new database is created from the
    metadata (see test_fast_create), which is only right while the two match."""
    alembic_upgrade(db_url)
    engine = create_state_engine(db_url)
    with engine.connect() as connection:
        assert current_revisions(connection) == {HEAD}
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_named_constraints_and_index_exist(store: StateStore) -> None:
    inspector = inspect(store.engine)
    uniques = {u["name"] for u in inspector.get_unique_constraints("message_pairs")}
    assert "uq_message_pairs_folder_id_source_uid" in uniques
    indexes = {i["name"] for i in inspector.get_indexes("message_pairs")}
    assert "ix_message_pairs_folder_id_fingerprint" in indexes
    checks = {c["name"] for c in inspector.get_check_constraints("message_pairs")}
    assert checks == {"ck_message_pairs_state"}


def test_reopening_runs_no_migration(store: StateStore) -> None:
    assert upgrade_to_head(store.engine) is False


def test_sqlite_connections_are_configured_for_shared_crash_safe_use(tmp_path: Path) -> None:
    engine = create_state_engine(f"sqlite:///{tmp_path}/s.db")
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": 30_000,
    }


def test_sqlite_file_in_a_missing_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.db"
    StateStore.open(f"sqlite:///{path}").close()
    assert path.is_file()


def test_memory_database_is_shared_by_threads() -> None:
    store = StateStore.open("sqlite://")
    ids: list[int] = []
    worker = threading.Thread(target=lambda: ids.append(store.mailbox_id("k")))
    worker.start()
    worker.join(10)
    assert ids == [store.mailbox_id("k")]
    store.close()


@pytest.mark.parametrize("url", ["not a url", "mysql://localhost/x"])
def test_bad_urls_raise_state_error(url: str) -> None:
    with pytest.raises(StateError):
        StateStore.open(url)


def test_migration_scripts_ship_inside_the_package() -> None:
    package = resources.files("mailferry.state.migrations")
    assert package.joinpath("env.py").is_file()
    assert package.joinpath("script.py.mako").is_file()
    assert package.joinpath("versions", "0001_initial.py").is_file()


def _open_and_register(url: str, barrier: threading.Barrier, out: list[int]) -> None:
    barrier.wait(10)
    with StateStore.open(url) as store:
        out.append(store.mailbox_id("shared"))


def test_concurrent_opens_in_threads_all_succeed(db_url: str) -> None:
    barrier = threading.Barrier(4)
    out: list[int] = []
    threads = [
        threading.Thread(target=_open_and_register, args=(db_url, barrier, out)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(out) == 4
    assert len(set(out)) == 1


def test_concurrent_opens_of_different_databases_in_threads(tmp_path: Path) -> None:
    """Alembic's module-global context must not be shared by two upgrades at once."""
    barrier = threading.Barrier(4)
    out: list[int] = []
    urls = [f"sqlite:///{tmp_path}/db{n}.db" for n in range(4)]
    threads = [threading.Thread(target=_open_and_register, args=(u, barrier, out)) for u in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert out == [1, 1, 1, 1]
    for url in urls:
        engine = create_engine(url)
        with engine.connect() as connection:
            assert current_revisions(connection) == head_revisions()
        engine.dispose()


def _open_in_process(url: str, barrier: object, results: object) -> None:
    try:
        barrier.wait(20)  # type: ignore[attr-defined]
        with StateStore.open(url) as store:
            results.put(("ok", store.mailbox_id("shared")))  # type: ignore[attr-defined]
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put(("error", repr(exc)))  # type: ignore[attr-defined]


def test_concurrent_opens_of_one_new_sqlite_file_in_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    results = context.Queue()
    workers = [
        context.Process(target=_open_in_process, args=(url, barrier, results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(10)
    assert [status for status, _ in outcomes] == ["ok"] * 4, outcomes
    assert len({value for _, value in outcomes}) == 1


def test_the_head_constant_names_the_newest_script() -> None:
    from mailferry.state.migrate import HEAD

    assert head_revisions() == {HEAD}
