"""Glue of the service tests: a context on a fresh SQLite file with a manual clock,
endpoints on the rig's Dovecot, CSVs of rig users."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from mailferry.service.batches import manage as batches
from mailferry.service.context import ServiceContext, ServiceSettings
from mailferry.service.endpoints.manage import EndpointChanges, new_endpoint
from mailferry.service.vault import Vault
from mailferry.state.migration_records import TargetSettings
from mailferry.state.service_store import ServiceStore
from tests.conftest import MASTER_USER

MakeUser = Callable[..., RigAccount]


class ManualClock:
    """Real time plus an offset the test moves forward ("24 hours later")."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        self.offset += delta


def make_context(
    tmp_path: Path, *, clock: ManualClock | None = None, key: bytes | None = None,
    **settings: object,
) -> ServiceContext:  # fmt: skip
    store = ServiceStore.open(f"sqlite:///{tmp_path / 'mailferry.db'}")
    defaults: dict[str, object] = {
        "poll_seconds": 0.2,
        "retry_base_seconds": 1.0,
        "stats_interval_seconds": 0.2,
        "default_target": TargetSettings(kind="maildir", maildir_root=str(tmp_path / "mail")),
    }
    defaults.update(settings)
    return ServiceContext(
        store=store,
        vault=Vault(key or Vault.generate_key()),
        settings=ServiceSettings(**defaults),  # type: ignore[arg-type]
        clock=clock or ManualClock(),
    )


def source_endpoint(server: DovecotServer, **limits: int) -> EndpointChanges:
    return EndpointChanges(
        remote_server="127.0.0.1",
        port=server.imaps_port,
        security="Ssl",
        ca_file=str(server.ca_pem_path),
        **limits,  # type: ignore[arg-type]
    )


def filled_user(
    server: DovecotServer, make_user: MakeUser, *, seed: int, messages: int = 30
) -> RigAccount:
    account = make_user("svc", servers=(server,))
    spec = CorpusSpec(seed=seed, messages=messages, deleted_fraction=0.0)
    server.write_maildir(account.name, generate(spec))
    return account


def one_user_source(
    ctx: ServiceContext, server: DovecotServer, make_user: MakeUser, *, seed: int,
    messages: int, endpoint: str = "Src",
) -> tuple[RigAccount, bytes]:  # fmt: skip
    """A filled source user, a source endpoint ``endpoint`` on ``server``, and the
    user's CSV."""
    account = filled_user(server, make_user, seed=seed, messages=messages)
    asyncio.run(new_endpoint(ctx, endpoint, source_endpoint(server)))
    return account, users_csv([(address(account), account.name, account.password)])


def users_csv(rows: Sequence[tuple[str, str, str]]) -> bytes:
    lines = ["EmailAddress,UserName,Password", *(",".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


def address(account: RigAccount) -> str:
    return f"{account.name}@service.example"


def master_user_batch(
    name: str, endpoint: str, csv: bytes, target: DovecotServer
) -> batches.BatchRequest:
    """An auto-started batch into ``target`` over implicit TLS, as its master user."""
    settings = TargetSettings(
        kind="imap", host="127.0.0.1", port=target.imaps_port, security="Ssl",
        ca_file=str(target.ca_pem_path), login="master-user", admin_user=MASTER_USER.name,
    )  # fmt: skip
    return batches.BatchRequest(
        name, endpoint, csv, target=settings, target_secret=MASTER_USER.password, auto_start=True
    )


def maildir_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name in ("cur", "new")]


def contents(root: Path) -> list[bytes]:
    return sorted(p.read_bytes().replace(b"\r\n", b"\n") for p in maildir_files(root))


def generated(seed: int, messages: int) -> list[bytes]:
    spec = CorpusSpec(seed=seed, messages=messages, deleted_fraction=0.0)  # as filled_user
    """The contents ``filled_user(seed=…, messages=…)`` put in the source."""
    return sorted(m.data.replace(b"\r\n", b"\n") for m in generate(spec))
