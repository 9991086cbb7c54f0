"""The CSV's ``TargetUserName`` column: the name the target knows one mailbox by, when
it is neither the address nor what ``--target-user-format`` makes of it (a server
without virtual domains, a legacy login scheme). Real Dovecot on both sides: the target
user exists only under the CSV's name, and the batch (master-user login) reaches it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mailferry.rig import DovecotServer
from mailferry.service.batches import manage as batches
from mailferry.service.batches.users import get_user
from mailferry.service.jobs.scheduler import run_in_process
from mailferry.service.properties import user_properties
from mailferry.service.statuses import UserStatus
from mailferry.service.users_csv.parse import CsvValidationError, parse_users_csv
from tests.integration.mailview import Login, count, differences, migrated, non_empty, read_view
from tests.service.service_support import (
    MakeUser,
    address,
    make_context,
    master_user_batch,
    one_user_source,
)


def test_a_batch_reaches_the_mailbox_the_csv_names_on_the_target(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser,
    tmp_path: Path,
) -> None:  # fmt: skip
    ctx = make_context(tmp_path)
    account, _csv = one_user_source(ctx, dovecot_source, make_user, seed=7100, messages=15)
    legacy = f"legacy-{account.name}"  # the target knows the mailbox only by this name
    dovecot_target.add_user(legacy, "legacy-pw")
    csv = (
        "EmailAddress,UserName,Password,TargetUserName\r\n"
        f"{address(account)},{account.name},{account.password},{legacy}\r\n"
    ).encode()
    batch = batches.new_batch(ctx, master_user_batch("Legacy", "Src", csv, dovecot_target))
    asyncio.run(run_in_process(ctx, {batch.id}))

    user = get_user(ctx, address(account))
    assert user.status == UserStatus.SYNCED, (user.status, user.error)
    assert user.target_user_name == legacy
    assert user_properties(user)["TargetUserName"] == legacy
    own = migrated(read_view(dovecot_source, Login(account.name, account.password)))
    copied = non_empty(read_view(dovecot_target, Login(legacy, "legacy-pw")))
    assert count(own) == 15 and differences(own, copied) == []


def test_without_the_column_the_same_batch_finds_no_such_mailbox(
    dovecot_source: DovecotServer, dovecot_target: DovecotServer, make_user: MakeUser,
    tmp_path: Path,
) -> None:  # fmt: skip
    ctx = make_context(tmp_path, max_attempts=1)
    account, csv = one_user_source(ctx, dovecot_source, make_user, seed=7101, messages=3)
    batch = batches.new_batch(ctx, master_user_batch("NoName", "Src", csv, dovecot_target))
    asyncio.run(run_in_process(ctx, {batch.id}))
    user = get_user(ctx, address(account))
    assert user.status == UserStatus.FAILED and user.target_user_name is None


def test_the_column_is_read_checked_and_optional() -> None:
    rows = parse_users_csv(
        b"EmailAddress,UserName,Password,targetusername\r\n"
        b"terry@corp.example,terry,pw,tadams\r\nann@corp.example,ann,pw,\r\n"
    )
    assert [r.target_user_name for r in rows] == ["tadams", None]
    with pytest.raises(CsvValidationError) as caught:
        parse_users_csv(
            b"EmailAddress,UserName,Password,TargetUserName\r\n"
            b"terry@corp.example,terry,pw,t adams\r\n"
        )
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (2, "TargetUserName")
    assert "space" in problem.reason
