"""Which failures are retried and after how long; a source that refuses connections is
retried with backoff, then fails the user with the reason."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from mailferry.errors import (
    AuthenticationError,
    ConnectFailed,
    ConnectionLost,
    MailboxNotFound,
    QuotaExceeded,
    ServerBye,
    Throttled,
)
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_users
from mailferry.service.endpoints.manage import EndpointChanges, new_endpoint
from mailferry.service.jobs.retry_policy import retry_delay
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.statuses import UserStatus
from tests.service.service_support import make_context, users_csv


def delay(error: Exception, attempts: int = 1) -> float | None:
    return retry_delay(error, attempts, base=30, ceiling=3600)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (Throttled("APPEND", "NO", "THROTTLED", "slow down", 2.5), 2.5),
        (ServerBye("Request is throttled. Suggested Backoff Time: 4000 milliseconds"), 4.0),
        (ServerBye("Request is throttled. Suggested Backoff Time: 250 ms"), 1.0),
        (ConnectionLost("reset"), 30),
        (ConnectFailed("tcp", "h", 1, "refused"), 30),
        (AuthenticationError("[UNAVAILABLE] Maximum number of connections exceeded"), 30),
        (AuthenticationError("[AUTHENTICATIONFAILED] Authentication failed."), None),
        (ConnectFailed("dns", "h", 1, "name not found"), None),
        (MailboxNotFound("a@b", "no such user"), None),
        (QuotaExceeded("[OVERQUOTA]"), None),
    ],
)
def test_retry_delay(error: Exception, expected: float | None) -> None:
    assert delay(error) == expected


def test_backoff_doubles_up_to_the_ceiling() -> None:
    lost = ConnectionLost("reset")
    assert [delay(lost, n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert delay(lost, 30) == 3600


def test_unreachable_source_is_retried_then_fails_with_the_reason(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctx = make_context(tmp_path, retry_base_seconds=0.2, max_attempts=3)
    changes = EndpointChanges(remote_server="127.0.0.1", port=port, security="None")
    asyncio.run(new_endpoint(ctx, "Gone", changes, skip_verification=True))
    csv = users_csv([("u@retry.example", "u", "pw")])
    batch = batches.new_batch(ctx, batches.BatchRequest("Retry", "Gone", csv, auto_start=True))
    asyncio.run(asyncio.wait_for(run_in_process(ctx, {batch.id}), 60))
    (user,) = get_users(ctx, batch="Retry")
    assert user.status == UserStatus.FAILED
    assert user.attempts == 3
    assert user.error is not None and "refused" in user.error.lower(), user.error
    started = ctx.store.events(batch_id=batch.id, kinds=["job_started"])
    assert len(started) == 3
    # The two waits for a retry (0.2 s, then 0.4 s) are stalled time, not queued time.
    assert 0.6 <= user.stalled_seconds < 10 and user.stalled_since is None
    (batch_started,) = ctx.store.events(batch_id=batch.id, kinds=["batch_started"])
    first_wait = (started[0].at - batch_started.at).total_seconds()
    assert abs(user.queued_seconds - first_wait) < 0.05  # queued only before the first job
