"""A batch's job and the one-shot ``migrate`` reach the engine by one path
(``service/jobs/mailbox_sync.py``): the same outcomes are judged alike by both.

Real Dovecot source; the targets are real Maildirs (one folder blocked by a file where
its directory must go, as in test_incomplete_sync) and the rig's Dovecot target with a
1 MiB quota. The one-shot runs get the batch's own source and target settings, read
back from the service (``JobSessions``), so the two paths differ only in themselves.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import functools
import re
import socket
from collections.abc import Callable
from pathlib import Path

from mailferry.rig import CorpusSpec, DovecotServer, generate
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_user
from mailferry.service.context import ServiceContext
from mailferry.service.endpoints.manage import EndpointChanges, new_endpoint
from mailferry.service.jobs.mailbox_sync import Judgement, RetrySettings, Verdict
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.jobs.sessions import JobSessions
from mailferry.service.migration_spec import TargetSpec
from mailferry.service.oneshot.migrate import (
    MigrationEvent,
    MigrationRequest,
    UserOutcome,
    run_migration,
)
from mailferry.service.statuses import INCOMPLETE_SYNC, UserStatus
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.state.migration_records import MigrationUser
from mailferry.values.progress import RetryWaiting
from tests.service.service_support import (
    MakeUser,
    address,
    filled_user,
    make_context,
    master_user_batch,
    source_endpoint,
    users_csv,
)

SERVICE = Path(__file__).resolve().parents[2] / "src" / "mailferry" / "service"
SHARED = "jobs/mailbox_sync.py"
ENGINE_RUNNERS = frozenset({
    "mailferry.engine.sync", "mailferry.engine.folder_sync", "mailferry.engine.copier",
    "mailferry.engine.pipeline", "mailferry.engine.reconcile",
})  # fmt: skip
"""The engine modules that sync a mailbox (the rest plan, name and describe)."""
SESSION_OPENERS = frozenset({"open_source", "open_target", "open_pair"})


# -- the one path, read from the imports ------------------------------------------------


def imported(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for every import in the file, those inside functions included."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                found.append((node.module, alias.name))
                found.append((f"{node.module}.{alias.name}", None))  # from engine import sync
    return found


@functools.cache
def service_imports() -> dict[str, list[tuple[str, str | None]]]:
    """Each service module (its path under service/) and its imports."""
    return {p.relative_to(SERVICE).as_posix(): imported(p) for p in SERVICE.rglob("*.py")}


def importers(wanted: Callable[[str, str | None], bool]) -> set[str]:
    """The service modules with an import ``wanted`` accepts."""
    return {
        module
        for module, imports in service_imports().items()
        if any(wanted(name, alias) for name, alias in imports)
    }


def test_only_the_shared_module_calls_the_engine_and_both_jobs_call_it() -> None:
    assert importers(lambda module, _name: module in ENGINE_RUNNERS) == {SHARED}
    callers = importers(
        lambda module, name: (
            module == "mailferry.service.jobs.mailbox_sync" and name == "sync_user_mailbox"
        )
    )
    assert callers == {"jobs/user_job.py", "oneshot/migrate.py"}
    openers = importers(
        lambda module, name: (
            module == "mailferry.service.migration_spec" and name in SESSION_OPENERS
        )
    )
    assert openers == {"jobs/user_sessions.py"}  # every job's sessions open (and close) there


# -- the same outcomes, judged alike ----------------------------------------------------


def batch_judgement(user: MigrationUser) -> Judgement:
    """What the batch recorded, as a judgement: Failed with IncompleteSync is Incomplete."""
    if user.status == UserStatus.SYNCED:
        verdict = Verdict.SYNCED
    elif user.status == UserStatus.FAILED:
        incomplete = user.error_kind == INCOMPLETE_SYNC
        verdict = Verdict.INCOMPLETE if incomplete else Verdict.FAILED
    else:
        raise AssertionError(f"{user.email_address}: {user.status} {user.error}")
    return Judgement(verdict, user.error, user.error_kind)


def untimed(judgement: Judgement) -> Judgement:
    """Without Dovecot's timings in its answers (``(0.001 + 0.000 secs)``): they vary."""
    reason = judgement.reason and re.sub(r" \([0-9.]+( \+ [0-9.]+)* secs\)", "", judgement.reason)
    return dataclasses.replace(judgement, reason=reason)


def the_batchs_request(
    ctx: ServiceContext, name: str, tmp_path: Path, target: TargetSpec | None = None,
    retry: RetrySettings | None = None,
) -> MigrationRequest:  # fmt: skip
    """A one-shot request with the batch's own source, target (unless another is given)
    and user rows, as the batch's job reads them from the service."""
    batch = batches.get_batch(ctx, name)
    sessions = [JobSessions(ctx, u, batch) for u in ctx.store.users(batch_id=batch.id)]
    return MigrationRequest(
        source=sessions[0].source,
        target=target or sessions[0].target,
        users=tuple(s.row for s in sessions),
        state_url=f"sqlite:///{tmp_path / name}.db",
        retry=retry or RetrySettings(),
    )


def migrate(request: MigrationRequest) -> dict[str, UserOutcome]:
    return {o.row.email_address: o for o in asyncio.run(run_migration(request))}


def blocked_archive(root: Path, who: str) -> None:
    home = root / who
    home.mkdir(parents=True)
    (home / ".Archive").write_text("in the way")


def test_incomplete_auth_failure_and_quota_are_judged_alike_by_both_paths(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser,
    tmp_path: Path,
) -> None:  # fmt: skip
    ctx = make_context(tmp_path)
    asyncio.run(new_endpoint(ctx, "Src", source_endpoint(dovecot_source)))
    partly = make_user("one", servers=(dovecot_source,))
    spec = CorpusSpec(seed=93, messages=10, folders=("INBOX", "Archive"), deleted_fraction=0.0)
    dovecot_source.write_maildir(partly.name, generate(spec))
    whole = filled_user(dovecot_source, make_user, seed=94, messages=4)
    refused = make_user("one", servers=(dovecot_source,))
    big = make_user("one", servers=(dovecot_source,))
    heavy = CorpusSpec(seed=95, messages=24, size_range=(80_000, 100_000), deleted_fraction=0.0)
    dovecot_source.write_maildir(big.name, generate(heavy))
    full = {path: f"{big.name}-{path}@service.example" for path in ("batch", "migrate")}
    for who in full.values():
        dovecot_target.add_user(who, "unused", quota_mb=1)
    blocked_archive(tmp_path / "mail", address(partly))  # the batch's Maildir target
    blocked_archive(tmp_path / "oneshot", address(partly))
    rows = [(address(a), a.name, a.password) for a in (partly, whole)]
    rows.append((address(refused), refused.name, "not-the-password"))
    maildir = batches.new_batch(
        ctx, batches.BatchRequest("Maildir", "Src", users_csv(rows), auto_start=True)
    )
    quota_csv = users_csv([(full["batch"], big.name, big.password)])
    quota = batches.new_batch(ctx, master_user_batch("Quota", "Src", quota_csv, dovecot_target))
    asyncio.run(run_in_process(ctx, {maildir.id, quota.id}))

    oneshot_target = TargetSpec(maildir_root=tmp_path / "oneshot")
    outcomes = migrate(the_batchs_request(ctx, "Maildir", tmp_path, oneshot_target))
    imap = the_batchs_request(ctx, "Quota", tmp_path)
    row = dataclasses.replace(imap.users[0], email_address=full["migrate"])
    outcomes |= migrate(dataclasses.replace(imap, users=(row,)))

    pairs = {  # user: (batch's, one-shot's)
        who: (batch_judgement(get_user(ctx, who)), outcomes[who].judgement)
        for who in (address(partly), address(whole), address(refused))
    }
    pairs["quota"] = (
        batch_judgement(get_user(ctx, full["batch"])),
        outcomes[full["migrate"]].judgement,
    )
    for who, (batch, oneshot) in pairs.items():
        assert untimed(batch) == untimed(oneshot), who
    verdicts = {who: (b.verdict, b.error_kind) for who, (b, _) in pairs.items()}
    assert verdicts == {
        address(partly): (Verdict.INCOMPLETE, INCOMPLETE_SYNC),
        address(whole): (Verdict.SYNCED, None),
        address(refused): (Verdict.FAILED, "AuthenticationError"),
        "quota": (Verdict.FAILED, "QuotaExceeded"),
    }
    reason = pairs[address(partly)][0].reason or ""
    assert "Archive" in reason and "missing" in reason
    left_behind = get_user(ctx, address(partly))  # the same counts, too
    result = outcomes[address(partly)].result
    assert result is not None and not result.complete
    assert (left_behind.synced_item_count, left_behind.total_items_in_source) == (
        result.synced, result.in_scope,
    )  # fmt: skip
    assert result.synced < result.in_scope == 10
    ctx.store.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_retried_by_the_same_rule_on_both_paths(
    tmp_path: Path,
) -> None:
    """Nobody listens on the source's port: each path tries twice (max_attempts 2), the
    batch from the queue, the one-shot in place after the same wait."""
    ctx = make_context(tmp_path, max_attempts=2, retry_base_seconds=0.05)
    changes = EndpointChanges(remote_server="127.0.0.1", port=closed_port(), security="None")
    asyncio.run(new_endpoint(ctx, "Gone", changes, skip_verification=True))
    csv = users_csv([("nobody@service.example", "nobody", "secret")])
    batch = batches.new_batch(ctx, batches.BatchRequest("Gone", "Gone", csv, auto_start=True))
    asyncio.run(run_in_process(ctx, {batch.id}))
    user = get_user(ctx, "nobody@service.example")
    assert (user.status, user.error_kind, user.attempts) == (
        UserStatus.FAILED, "ConnectFailed", 2,
    )  # fmt: skip

    settings = RetrySettings(max_attempts=2, base_seconds=0.05)
    waits: list[RetryWaiting] = []

    def on_event(_row: MigrationUserRow, event: MigrationEvent) -> None:
        if isinstance(event, RetryWaiting):
            waits.append(event)

    request = the_batchs_request(ctx, "Gone", tmp_path, retry=settings)
    (outcome,) = asyncio.run(run_migration(request, on_event=on_event))
    assert outcome.judgement == Judgement(
        Verdict.FAILED, f"{user.error} (gave up after 2 attempts)", "ConnectFailed"
    )  # the one-shot's words say how many attempts it took; the batch's are in Attempts
    assert [(w.attempt, w.seconds, w.reason) for w in waits] == [(1, 0.05, user.error)]
    ctx.store.close()
