"""StateStore: the repository over the state database (sync; each write one transaction).

Every write goes through ``_write``: one transaction, then ``write_hook`` (if set), then
COMMIT. Crash tests set the hook to raise: the transaction is rolled back, so that write
is lost exactly as if the process had died just before committing, and every earlier
write stays committed.

Durability (SQLite, WAL). Every COMMIT reaches the WAL file through ``write()`` before it
returns, so a *killed process* never loses a committed write, whatever ``synchronous``
says. What ``synchronous`` decides is what survives a power loss or an OS crash: with
FULL the WAL is fsynced at each COMMIT; with NORMAL it is not, and a power loss can take
away the last few transactions, but only a suffix of them (the WAL is replayed in order,
up to its last intact commit), and the next FULL COMMIT fsyncs everything written before
it. So only the write that must be on disk before we act on a server is FULL:
``record_intent`` (the APPEND that follows must never outlive its intent); the
service's writes and ``delete_mailbox`` stay FULL too. The engine's other writes
(:data:`RELAXED_WRITES`) are NORMAL: a power loss can only take a suffix of them, which
leaves the state exactly as a kill at that instant would (the case the engine is built
and crash-tested for): pairs pending (reconciled by fingerprint on the next run), flags
recorded stale (written again), a checkpoint missing (the folder listed again), never a
lost or duplicated message. This halves the fsyncs of a migration and takes them off
the folder-preparation path.

Writes are serialised inside the process (one lock), so the engine may run them in a
worker thread (``asyncio.to_thread``) while the event loop keeps the sockets busy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update
from sqlalchemy.exc import DBAPIError, StatementError

from mailferry.errors import StateNotFound
from mailferry.state import hot_writes, upsert
from mailferry.state.database import (
    BUSY_TIMEOUT_SECONDS,
    WRITE_OPTION,
    create_state_engine,
    is_memory,
    set_synchronous,
    translate,
)
from mailferry.state.migrate import upgrade_to_head
from mailferry.state.records import (
    DONE,
    PENDING,
    FolderRecord,
    PairIntent,
    PairRecord,
    flags_to_text,
)
from mailferry.state.schema import folders, mailboxes, message_pairs, skipped_items, utc_reader
from mailferry.values.results import SkippedItem

T = TypeVar("T")
WriteHook = Callable[[str], None]

#: Writes committed without an fsync on SQLite (see the module docstring for why this
#: is safe). Everything the engine writes except ``record_intent``: a power loss takes
#: a suffix of them at most, which leaves the state as a kill at that point would have,
#: and between the last fsynced intent and the loss the servers saw only idempotent
#: commands (CREATE, STORE, EXPUNGE of known UIDs), never an APPEND.
RELAXED_WRITES = frozenset(
    {
        "mailbox_id",
        "upsert_folder",
        "save_checkpoint",
        "record_outcome",
        "drop_pairs",
        "update_flags",
        "remap_source_uids",
        "record_skipped",
    }
)

_PAIR_COLUMNS = (
    message_pairs.c.source_uid,
    message_pairs.c.target_uid,
    message_pairs.c.state,
    message_pairs.c.fingerprint,
    message_pairs.c.size,
    message_pairs.c.internaldate,
    message_pairs.c.flags,
    message_pairs.c.target_uidnext_before,
)
_SKIPPED_COLUMNS = (
    skipped_items.c.folder,
    skipped_items.c.source_uid,
    skipped_items.c.kind,
    skipped_items.c.subject,
    skipped_items.c.sender,
    skipped_items.c.date,
    skipped_items.c.size,
    skipped_items.c.reason,
)


class StateStore:
    """Mailboxes, folder checkpoints, message pairs and skipped items.

    ``write_hook(operation)`` is called inside each write transaction after its
    statements ran and before COMMIT, with the public method's name. If it raises,
    the transaction rolls back and the exception propagates unchanged. Writes with
    nothing to do (empty input) open no transaction and do not call it.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if is_memory(engine) else contextlib.nullcontext()
        )
        # One writer at a time in this process: threads wait here, not in SQLite's
        # busy handler (which sleeps in steps of up to 100 ms).
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            self._lock if is_memory(engine) else threading.Lock()
        )
        self.write_hook: WriteHook | None = None

    @classmethod
    def open(cls, url: str, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> StateStore:
        """Connect and upgrade the schema to the newest revision.

        ``busy_timeout`` (SQLite): seconds to wait for another process's write lock
        before raising StateUnavailable.
        """
        engine = create_state_engine(url, busy_timeout=busy_timeout)
        try:
            upgrade_to_head(engine)
        except DBAPIError as exc:
            engine.dispose()
            raise translate("open", exc) from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------

    def _write(self, operation: str, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one write transaction; the hook runs just before COMMIT."""
        try:
            with self._write_lock, self._engine.connect() as connection:
                set_synchronous(connection, full=operation not in RELAXED_WRITES)
                connection.execution_options(**{WRITE_OPTION: True})
                with connection.begin():
                    result = fn(connection)
                    if self.write_hook is not None:
                        self.write_hook(operation)
                return result
        except DBAPIError as exc:
            raise translate(operation, exc) from exc
        except StatementError as exc:  # a value our types refused (e.g. a naive datetime)
            if isinstance(exc.orig, ValueError):
                raise exc.orig from None
            raise

    @contextlib.contextmanager
    def _read(self, operation: str) -> Iterator[Connection]:
        try:
            with self._lock, self._engine.connect() as connection:
                yield connection
        except DBAPIError as exc:
            raise translate(operation, exc) from exc

    # -- mailboxes ----------------------------------------------------------------

    def mailbox_id(self, key: str) -> int:
        """The id of the mailbox ``key``, created on first use."""
        query = select(mailboxes.c.id).where(mailboxes.c.key == key)
        with self._read("mailbox_id") as connection:
            found = connection.execute(query).scalar_one_or_none()
        if found is not None:
            return int(found)

        def create(connection: Connection) -> int:
            row = {"key": key, "created_at": _now()}
            connection.execute(upsert.insert_ignoring(connection, mailboxes, ["key"]), row)
            return int(connection.execute(query).scalar_one())

        return self._write("mailbox_id", create)

    def delete_mailbox(self, mailbox_id: int) -> None:
        """Purge the mailbox with its folders, pairs and skipped items."""

        def purge(connection: Connection) -> None:
            folder_ids = select(folders.c.id).where(folders.c.mailbox_id == mailbox_id)
            connection.execute(
                delete(message_pairs).where(message_pairs.c.folder_id.in_(folder_ids))
            )
            connection.execute(delete(folders).where(folders.c.mailbox_id == mailbox_id))
            connection.execute(
                delete(skipped_items).where(skipped_items.c.mailbox_id == mailbox_id)
            )
            connection.execute(delete(mailboxes).where(mailboxes.c.id == mailbox_id))

        self._write("delete_mailbox", purge)

    # -- folders ------------------------------------------------------------------

    def folder(self, mailbox_id: int, source_folder: str) -> FolderRecord | None:
        query = select(folders).where(
            folders.c.mailbox_id == mailbox_id, folders.c.source_folder == source_folder
        )
        with self._read("folder") as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else FolderRecord(*row)

    def folders(self, mailbox_id: int) -> list[FolderRecord]:
        """The mailbox's folders ordered by source folder name."""
        query = (
            select(folders)
            .where(folders.c.mailbox_id == mailbox_id)
            .order_by(folders.c.source_folder)
        )
        with self._read("folders") as connection:
            return [FolderRecord(*row) for row in connection.execute(query)]

    def upsert_folder(
        self, mailbox_id: int, source_folder: str, target_folder: str
    ) -> FolderRecord:
        """Create the folder, or change its target folder; the checkpoint is kept."""

        def run(connection: Connection) -> FolderRecord:
            if connection.dialect.name == "sqlite":
                return hot_writes.sqlite_upsert_folder(
                    connection, mailbox_id, source_folder, target_folder
                )
            statement = upsert.insert_or_update(
                connection,
                folders,
                ["mailbox_id", "source_folder"],
                ["target_folder"],
            )
            row = {
                "mailbox_id": mailbox_id,
                "source_folder": source_folder,
                "target_folder": target_folder,
            }
            connection.execute(statement, row)
            query = select(folders).where(
                folders.c.mailbox_id == mailbox_id, folders.c.source_folder == source_folder
            )
            return FolderRecord(*connection.execute(query).one())

        return self._write("upsert_folder", run)

    def save_checkpoint(
        self,
        folder_id: int,
        *,
        source_uidvalidity: int | None,
        source_uidnext: int | None,
        source_highestmodseq: int | None,
        source_messages: int | None,
        target_uidvalidity: int | None,
        scope: str = "",
    ) -> None:
        """Record the folder's counters after a sync, and the content filter's ``scope``
        they were made under ('' for none); ``last_synced_at`` becomes now."""
        now = _now()
        counters = (
            source_uidvalidity,
            source_uidnext,
            source_highestmodseq,
            source_messages,
            target_uidvalidity,
        )

        def run(connection: Connection) -> None:
            if connection.dialect.name == "sqlite":
                changed = hot_writes.sqlite_save_checkpoint(
                    connection, folder_id, counters, scope, now
                )
            else:
                statement = (
                    update(folders)
                    .where(folders.c.id == folder_id)
                    .values(
                        source_uidvalidity=source_uidvalidity,
                        source_uidnext=source_uidnext,
                        source_highestmodseq=source_highestmodseq,
                        source_messages=source_messages,
                        target_uidvalidity=target_uidvalidity,
                        last_synced_at=now,
                        scope=scope,
                    )
                )
                changed = connection.execute(statement).rowcount
            if changed != 1:
                raise StateNotFound("save_checkpoint", f"no folder with id {folder_id}")

        self._write("save_checkpoint", run)

    # -- message pairs ------------------------------------------------------------

    def pair_counts(self, folder_id: int) -> dict[str, int]:
        """How many pairs the folder has in each state (``done``, ``pending``), without
        loading them: the no-op check of a 100,000-message folder stays cheap."""
        query = (
            select(message_pairs.c.state, func.count())
            .where(message_pairs.c.folder_id == folder_id)
            .group_by(message_pairs.c.state)
        )
        with self._read("pair_counts") as connection:
            rows = connection.execute(query).all()
        counts: dict[str, int] = {DONE: 0, PENDING: 0}
        counts.update({str(state): int(count) for state, count in rows})
        return counts

    def pairs(self, folder_id: int) -> list[PairRecord]:
        """All pairs of the folder, ordered by source UID."""
        query = (
            select(*_PAIR_COLUMNS)
            .where(message_pairs.c.folder_id == folder_id)
            .order_by(message_pairs.c.source_uid)
        )
        with self._read("pairs") as connection:
            # Hot path (100,000s of pairs): raw DBAPI rows, converted here.
            rows = connection.execute(query).cursor.fetchall()
            read_date = utc_reader(connection.dialect)
        spelled: dict[str, tuple[str, ...]] = {}  # one tuple per distinct flag text

        def flags_of(text: str) -> tuple[str, ...]:
            found = spelled.get(text)
            if found is None:
                found = spelled[text] = tuple(text.split())
            return found

        return [
            PairRecord(uid, target, state, fp, size, read_date(date), flags_of(flags), before)
            for uid, target, state, fp, size, date, flags, before in rows
        ]

    def record_intent(self, folder_id: int, intents: Sequence[PairIntent]) -> None:
        """Insert 'pending' pairs before the APPEND. A source UID that already has a
        pair raises StateConflict (drop it first); an unknown folder StateNotFound."""
        if intents:
            self._write("record_intent", lambda c: hot_writes.insert_intents(c, folder_id, intents))

    def record_outcome(self, folder_id: int, outcomes: Mapping[int, int | None]) -> None:
        """Mark pairs 'done' with their target UID (None: appended, UID unknown)."""
        if not outcomes:
            return

        def run(connection: Connection) -> None:
            if hot_writes.mark_done(connection, folder_id, outcomes) != len(outcomes):
                _raise_missing(connection, "record_outcome", folder_id, list(outcomes))

        self._write("record_outcome", run)

    def update_flags(self, folder_id: int, flags: Mapping[int, tuple[str, ...]]) -> None:
        """Record the flags now on the target copy of each source UID."""
        statement = update(message_pairs).where(_pair_key()).values(flags=bindparam("b_value"))
        rows = [
            {"b_folder": folder_id, "b_uid": uid, "b_value": flags_to_text(value)}
            for uid, value in flags.items()
        ]
        self._update_pairs("update_flags", folder_id, statement, rows)

    def remap_source_uids(self, folder_id: int, mapping: Mapping[int, int]) -> None:
        """Give pairs new source UIDs (old -> new) after a UIDVALIDITY change.

        Old and new sets may overlap (1->2, 2->1): rows first move to a temporary
        negative UID. A new UID still held by an unmapped pair raises StateConflict
        (drop stale pairs first); an old UID without a pair raises StateNotFound.
        """
        if not mapping:
            return
        park = update(message_pairs).where(_pair_key()).values(source_uid=bindparam("b_value"))
        parked = [{"b_folder": folder_id, "b_uid": old, "b_value": -old} for old in mapping]
        final = [
            {"b_folder": folder_id, "b_uid": -old, "b_value": new} for old, new in mapping.items()
        ]

        def run(connection: Connection) -> None:
            if connection.execute(park, parked).rowcount != len(parked):
                _raise_missing(connection, "remap_source_uids", folder_id, [-u for u in mapping])
            connection.execute(park, final)

        self._write("remap_source_uids", run)

    def drop_pairs(self, folder_id: int, source_uids: Sequence[int]) -> None:
        """Forget pairs (absent UIDs are ignored)."""
        statement = delete(message_pairs).where(_pair_key())
        rows = [{"b_folder": folder_id, "b_uid": uid} for uid in source_uids]
        if rows:
            self._write("drop_pairs", lambda c: c.execute(statement, rows))

    def _update_pairs(
        self, operation: str, folder_id: int, statement: Any, rows: list[dict[str, Any]]
    ) -> None:
        if not rows:
            return

        def run(connection: Connection) -> None:
            if connection.execute(statement, rows).rowcount != len(rows):
                _raise_missing(connection, operation, folder_id, [row["b_uid"] for row in rows])

        self._write(operation, run)

    # -- skipped items ------------------------------------------------------------

    def record_skipped(self, mailbox_id: int, items: Sequence[SkippedItem]) -> None:
        """Store skipped items; recording one again (same folder, source UID, kind)
        replaces its details instead of adding a row."""
        unique = {(i.folder, i.source_uid, i.kind): i for i in items}
        if unique:
            self._write("record_skipped", lambda c: upsert.skipped(c, mailbox_id, unique.values()))

    def drop_skipped(
        self,
        mailbox_id: int,
        folder: str,
        *,
        keep: Collection[tuple[int, str]] | None = None,
        uids: Collection[int] = (),
    ) -> None:
        """Forget a folder's message-level skipped items that no longer hold: with ``keep``
        (source UID, kind) every other one of the folder (a full listing re-derived them
        all); otherwise those of ``uids`` (messages now copied). Folder-level items (no
        source UID) stay. Writes only when there is something to forget."""
        column = skipped_items.c
        where = (column.mailbox_id == mailbox_id) & (column.folder == folder)
        where &= column.source_uid.is_not(None)
        query = select(column.id, column.source_uid, column.kind).where(where)
        with self._read("skipped") as connection:
            rows = connection.execute(query).all()
        if keep is None:
            wanted = set(uids)
            doomed = [row.id for row in rows if row.source_uid in wanted]
        else:
            kept = set(keep)
            doomed = [row.id for row in rows if (row.source_uid, row.kind) not in kept]

        def run(connection: Connection) -> None:
            for start in range(0, len(doomed), 500):
                chunk = doomed[start : start + 500]
                connection.execute(delete(skipped_items).where(column.id.in_(chunk)))

        if doomed:
            self._write("drop_skipped", run)

    def skipped_count(self, mailbox_id: int, folders: Collection[str]) -> int:
        """How many message-level skipped items (with a source UID) the mailbox has in
        ``folders``."""
        column = skipped_items.c
        query = select(column.folder, func.count()).where(
            column.mailbox_id == mailbox_id, column.source_uid.is_not(None)
        )
        with self._read("skipped_count") as connection:
            rows = connection.execute(query.group_by(column.folder)).all()
        return sum(int(count) for folder, count in rows if folder in folders)

    def skipped(self, mailbox_id: int) -> list[SkippedItem]:
        """The mailbox's skipped items in the order first recorded (within one
        ``record_skipped`` call, items with a source UID come first)."""
        query = (
            select(*_SKIPPED_COLUMNS)
            .where(skipped_items.c.mailbox_id == mailbox_id)
            .order_by(skipped_items.c.id)
        )
        with self._read("skipped") as connection:
            return [SkippedItem(*row) for row in connection.execute(query)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _pair_key() -> Any:
    return (message_pairs.c.folder_id == bindparam("b_folder")) & (
        message_pairs.c.source_uid == bindparam("b_uid")
    )


def _raise_missing(connection: Connection, operation: str, folder_id: int, uids: list[int]) -> None:
    """Raise StateNotFound naming (up to 10 of) the UIDs without a pair (error path only)."""
    found: set[int] = set()
    column = message_pairs.c.source_uid
    for start in range(0, len(uids), 500):
        chunk = uids[start : start + 500]
        query = select(column).where(message_pairs.c.folder_id == folder_id, column.in_(chunk))
        found.update(connection.execute(query).scalars())
    missing = sorted(abs(uid) for uid in set(uids) - found)
    shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
    raise StateNotFound(
        operation, f"folder {folder_id}: {len(missing)} source UID(s) without a pair: {shown}"
    )
