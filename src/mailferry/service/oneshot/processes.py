"""The one-shot migration's users in worker processes (``MigrationRequest.processes`` > 1).

One Python process migrating every user is bound to one core; here each user
runs in one of N "spawn" worker processes with the same call as in-process
(``migrate_user``), so their CPU spreads over the cores. The parent keeps the
schedule: it hands a user to the least busy live worker while fewer than
``max_concurrent`` users run in all, and calls ``on_event``/``on_user_done``
with what the workers send back, so progress views and reports work unchanged.

Everything crosses one pipe pair per worker (the request and its secrets
included: never argv, environment or files). Each worker opens its own
StateStore. A worker that dies fails the users it was migrating (the engine's
crash safety makes the next run an ordinary incremental sync); a replacement
is started while users still wait. Workers ignore SIGINT: on Ctrl-C the
parent stops them and the KeyboardInterrupt is the parent's alone.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import multiprocessing
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Final

from mailferry.errors import MailferryError, WorkerProcessExited, WorkerSetupError
from mailferry.service.oneshot.migrate import (
    MigrationRequest,
    UserDone,
    UserEvent,
    UserOutcome,
    migrate_user,
)
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.state.store import StateStore

START_METHOD: Final = "spawn"  # the parent has threads (Rich, the state writer): no fork
_POLL_SECONDS = 0.5  # how long one wait for worker messages blocks (bounds Ctrl-C latency)
_STOP_GRACE_SECONDS = 5.0


@dataclasses.dataclass
class _Worker:
    process: BaseProcess
    tasks: Connection  # parent -> worker: the setup, then (index, row), then None
    results: Connection | None  # worker -> parent; None once it reached end of file
    in_flight: set[int] = dataclasses.field(default_factory=set)


Describe = Callable[[MailferryError], str]


async def run_in_processes(
    request: MigrationRequest,
    count: int,
    *,
    on_event: UserEvent | None,
    on_user_done: UserDone | None,
    describe: Describe,
) -> list[UserOutcome]:
    """Migrate ``request.users`` in ``count`` worker processes; outcomes in CSV order.

    The workers start first: their imports overlap opening the state database here,
    which brings its schema up to date before any worker opens it.
    """
    setup = _setup_message(request, describe)
    pool = _Pool(request, count, on_event, on_user_done)
    try:
        StateStore.open(request.state_url).close()
        pool.begin(setup)
        return await pool.run()
    finally:
        pool.stop()


def _setup_message(request: MigrationRequest, describe: Describe) -> bytes:
    """The request without its users (they go one by one), pickled once for every worker."""
    try:
        return pickle.dumps((dataclasses.replace(request, users=()), describe))
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise WorkerSetupError(f"cannot hand the migration to worker processes: {error}") from None


def sendable(row: MigrationUserRow) -> MigrationUserRow:
    """The row with a plain dict of extra columns (the CSV reader's mapping proxy won't pickle)."""
    return dataclasses.replace(row, extra=dict(row.extra))


class _Pool:
    """The parent's side: workers, the users waiting, the outcomes so far."""

    def __init__(
        self,
        request: MigrationRequest,
        count: int,
        on_event: UserEvent | None,
        on_user_done: UserDone | None,
    ) -> None:
        self._request = request
        self._users = request.users
        self._setup: bytes | None = None  # sent to each worker by begin(), then on start
        self._on_event = on_event
        self._on_user_done = on_user_done
        self._context = multiprocessing.get_context(START_METHOD)
        self._pending = collections.deque(range(len(self._users)))
        self._outcomes: dict[int, UserOutcome] = {}
        self._handed_at: dict[int, tuple[dt.datetime, float]] = {}  # wall clock, monotonic
        self._workers: list[_Worker] = []
        self._respawns = len(self._users)  # each one follows a death: bounded
        self._started = 0
        for _ in range(count):
            self._workers.append(self._start_worker())

    def begin(self, setup: bytes) -> None:
        self._setup = setup
        for worker in self._workers:
            worker.tasks.send_bytes(setup)

    async def run(self) -> list[UserOutcome]:
        while len(self._outcomes) < len(self._users):
            self._assign()
            ready = await asyncio.to_thread(wait, list(self._waitables()), _POLL_SECONDS)
            for worker in list(self._workers):
                if worker.results is not None and worker.results in ready:
                    self._drain(worker)
                if worker.process.sentinel in ready:
                    self._bury(worker)
            if not self._workers and self._pending:
                self._fail_pending("no worker process is left")
        return [self._outcomes[index] for index in range(len(self._users))]

    def stop(self) -> None:
        """Tell idle workers to exit; terminate any that don't (or that still work)."""
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                if worker.in_flight:
                    worker.process.terminate()
                else:
                    worker.tasks.send(None)
        for worker in self._workers:
            worker.process.join(_STOP_GRACE_SECONDS)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            self._close(worker)
        self._workers.clear()

    def _start_worker(self) -> _Worker:
        task_reader, task_writer = self._context.Pipe(duplex=False)
        result_reader, result_writer = self._context.Pipe(duplex=False)
        self._started += 1
        process = self._context.Process(
            target=worker_main,
            args=(task_reader, result_writer),
            name=f"mailferry-migrate-{self._started}",
        )
        with _sigint_ignored():  # the child inherits SIG_IGN until worker_main runs
            process.start()
        task_reader.close()
        result_writer.close()  # so the parent sees end of file when the worker dies
        if self._setup is not None:
            task_writer.send_bytes(self._setup)
        return _Worker(process, task_writer, result_reader)

    def _waitables(self) -> Iterator[Any]:
        for worker in self._workers:
            if worker.results is not None:
                yield worker.results
            yield worker.process.sentinel

    def _assign(self) -> None:
        limit = max(1, self._request.max_concurrent)
        while self._pending and self._workers and self._running() < limit:
            worker = min(self._workers, key=lambda w: len(w.in_flight))
            index = self._pending.popleft()
            try:
                worker.tasks.send((index, sendable(self._users[index])))
            except OSError:  # it died; its sentinel will tell
                self._pending.appendleft(index)
                return
            worker.in_flight.add(index)
            self._handed_at[index] = (dt.datetime.now(dt.UTC), time.monotonic())

    def _running(self) -> int:
        return sum(len(worker.in_flight) for worker in self._workers)

    def _drain(self, worker: _Worker) -> None:
        results = worker.results
        try:
            while results is not None and results.poll():
                self._handle(worker, results.recv())
        except (EOFError, OSError):  # it died; its sentinel tells the rest
            worker.results = None
            if results is not None:
                results.close()

    def _handle(self, worker: _Worker, message: tuple[str, int, Any]) -> None:
        kind, index, payload = message
        row = self._users[index]
        if kind == "event":
            if self._on_event is not None:
                self._on_event(row, payload)
        else:
            worker.in_flight.discard(index)
            self._finish(index, dataclasses.replace(payload, row=row))

    def _finish(self, index: int, outcome: UserOutcome) -> None:
        self._outcomes[index] = outcome
        if self._on_user_done is not None:
            self._on_user_done(outcome)

    def _bury(self, worker: _Worker) -> None:
        """A worker ended: take what it still sent, fail its users, maybe replace it."""
        self._drain(worker)
        worker.process.join()
        code = worker.process.exitcode
        for index in sorted(worker.in_flight):
            row = self._users[index]
            error = WorkerProcessExited(
                f"worker process exited with code {code} while migrating user {row.email_address}"
            )
            self._finish(index, self._failed(index, error))
        worker.in_flight.clear()
        self._close(worker)
        self._workers.remove(worker)
        if self._pending and self._respawns > 0:
            self._respawns -= 1
            self._workers.append(self._start_worker())

    def _fail_pending(self, reason: str) -> None:
        while self._pending:
            index = self._pending.popleft()
            self._finish(index, self._failed(index, WorkerProcessExited(reason)))

    def _failed(self, index: int, error: WorkerProcessExited) -> UserOutcome:
        now = (dt.datetime.now(dt.UTC), time.monotonic())
        started_at, started = self._handed_at.get(index, now)
        return UserOutcome(
            self._users[index], started_at, now[1] - started,
            error=str(error), error_kind=type(error).__name__,
        )  # fmt: skip

    @staticmethod
    def _close(worker: _Worker) -> None:
        for connection in (worker.tasks, worker.results):
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.close()
        worker.results = None


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored in this process meanwhile, so a child started now inherits SIG_IGN.

    Only on the main thread (where handlers are set) and over a handler set from Python.
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _unopened(row: MigrationUserRow, error: MailferryError, words: str) -> UserOutcome:
    now = dt.datetime.now(dt.UTC)
    return UserOutcome(row, now, 0.0, error=words, error_kind=type(error).__name__)


# -- the worker's side -----------------------------------------------------------------


def worker_main(tasks: Connection, results: Connection) -> None:
    """A worker process: read the setup, then migrate each user it is handed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        setup = pickle.loads(tasks.recv_bytes())
    except (EOFError, OSError):
        return
    if setup is None:  # stopped before it began
        return
    request, describe = setup
    asyncio.run(_serve(request, describe, tasks, _Sender(results)))


class _Sender:
    """Sends to the parent from any thread; a vanished parent is not an error here."""

    def __init__(self, results: Connection) -> None:
        self._results = results
        self._lock = threading.Lock()

    def send(self, message: tuple[str, int, Any]) -> None:
        """Raises ``pickle.PicklingError`` (or TypeError) if the message can't be pickled."""
        data = pickle.dumps(message)
        with self._lock, contextlib.suppress(OSError):
            self._results.send_bytes(data)


async def _serve(
    request: MigrationRequest, describe: Describe, tasks: Connection, sender: _Sender
) -> None:
    state: StateStore | None = None
    failure: MailferryError | None = None
    try:
        state = StateStore.open(request.state_url)
    except MailferryError as error:
        failure = error  # every user handed to this worker fails with it
    running: set[asyncio.Task[None]] = set()
    try:
        while True:
            try:
                message = await asyncio.to_thread(tasks.recv)
            except (EOFError, OSError):  # the parent is gone
                for task in running:
                    task.cancel()
                break
            if message is None:
                break
            index, row = message
            task = asyncio.create_task(_one(request, describe, state, failure, index, row, sender))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running, return_exceptions=True)
    finally:
        if state is not None:
            state.close()


async def _one(
    request: MigrationRequest,
    describe: Describe,
    state: StateStore | None,
    failure: MailferryError | None,
    index: int,
    row: MigrationUserRow,
    sender: _Sender,
) -> None:
    def on_event(_row: MigrationUserRow, event: Any) -> None:
        with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError):
            sender.send(("event", index, event))  # a progress event is not worth a failure

    try:
        if state is None:
            assert failure is not None
            outcome = _unopened(row, failure, describe(failure))
        else:
            outcome = await migrate_user(request, state, row, on_event, describe)
    except Exception as error:  # a bug must fail this user, not hang the parent
        outcome = _internal_error(row, error)
    try:
        sender.send(("done", index, dataclasses.replace(outcome, row=sendable(row))))
    except Exception as error:  # e.g. something in the result that can't be pickled
        sender.send(("done", index, _internal_error(sendable(row), error)))


def _internal_error(row: MigrationUserRow, error: Exception) -> UserOutcome:
    return UserOutcome(
        row, dt.datetime.now(dt.UTC), 0.0,
        error=f"internal error in the worker process: {type(error).__name__}: {error}",
        error_kind=type(error).__name__,
    )  # fmt: skip
