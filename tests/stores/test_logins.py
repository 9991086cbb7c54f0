"""Target login modes, and what a refused login becomes (on the rig's Dovecot)."""

from __future__ import annotations

import asyncio

import pytest

from mailferry.connection.auth import Credentials
from mailferry.errors import AuthenticationError, MailboxNotFound
from mailferry.rig.dovecot import DovecotServer
from mailferry.stores.imap_source import open_imap_source
from mailferry.stores.imap_target import open_imap_target
from mailferry.stores.logins import (
    AdminAuthzid,
    MasterUser,
    PerUser,
    StaticTokenProvider,
    TargetLogin,
    XOAuth2,
    source_credentials,
    target_credentials,
)
from mailferry.values.connection import AuthMethod
from tests.stores.conftest import MASTER_PASSWORD, MASTER_USER, connect_options, new_user


def credentials(login: TargetLogin, address: str) -> Credentials:
    return asyncio.run(target_credentials(login, address))


def test_admin_authzid_uses_sasl_plain_as_the_user() -> None:
    made = credentials(AdminAuthzid("admin", "s3cret"), "terry@example.com")
    assert made == Credentials("admin", "s3cret", "terry@example.com", AuthMethod.PLAIN)


def test_master_user_joins_address_separator_and_admin() -> None:
    made = credentials(MasterUser("admin", "s3cret"), "terry@example.com")
    assert (made.username, made.secret, made.authzid) == ("terry@example.com*admin", "s3cret", "")
    other = credentials(MasterUser("admin", "s3cret", separator="#"), "terry@example.com")
    assert other.username == "terry@example.com#admin"


def test_per_user_looks_the_address_up_ignoring_case() -> None:
    login = PerUser({"Terry@Example.com": ("terry", "pw1"), "ann@example.com": ("ann", "pw2")})
    assert credentials(login, "terry@example.com") == Credentials("terry", "pw1")
    assert credentials(login, "ann@example.com") == Credentials("ann", "pw2")
    with pytest.raises(AuthenticationError) as caught:
        credentials(login, "nobody@example.com")
    assert "nobody@example.com" in caught.value.reason


def test_xoauth2_asks_the_token_provider_for_each_address() -> None:
    class Provider:
        def __init__(self) -> None:
            self.asked: list[str] = []

        async def token(self, user: str) -> str:
            self.asked.append(user)
            return f"token-for-{user}"

    provider = Provider()
    made = credentials(XOAuth2(provider), "terry@example.com")
    assert made == Credentials(
        "terry@example.com", "token-for-terry@example.com", method=AuthMethod.XOAUTH2
    )
    assert provider.asked == ["terry@example.com"]
    static = credentials(XOAuth2(StaticTokenProvider("abc")), "ann@example.com")
    assert (static.secret, static.method) == ("abc", AuthMethod.XOAUTH2)


def test_source_credentials_are_verbatim() -> None:
    made = source_credentials("contoso/admin/terry.adams", "pw")
    assert made == Credentials("contoso/admin/terry.adams", "pw", method=AuthMethod.BASIC)
    assert source_credentials("u", "p", AuthMethod.PLAIN).method is AuthMethod.PLAIN


def test_no_secret_in_any_repr() -> None:
    logins: list[object] = [
        AdminAuthzid("admin", "s3cret"),
        MasterUser("admin", "s3cret"),
        PerUser({"a@example.com": ("a", "s3cret")}),
        StaticTokenProvider("s3cret"),
        credentials(AdminAuthzid("admin", "s3cret"), "a@example.com"),
    ]
    for login in logins:
        assert "s3cret" not in repr(login)


async def _create_folder_as(
    server: DovecotServer, login: TargetLogin, address: str, folder: str
) -> None:
    credentials = await target_credentials(login, address)
    target = await open_imap_target(connect_options(server), credentials, mailbox=address)
    try:
        await target.ensure_folder(folder)
    finally:
        await target.close()


def test_every_target_mode_opens_the_users_own_mailbox(dovecot_target: DovecotServer) -> None:
    address, password = new_user(dovecot_target, "login")
    modes: dict[str, TargetLogin] = {
        "ByAuthzid": AdminAuthzid(MASTER_USER, MASTER_PASSWORD),
        "ByMaster": MasterUser(MASTER_USER, MASTER_PASSWORD),
        "ByPassword": PerUser({address: (address, password)}),
    }

    async def main() -> set[str]:
        for folder, login in modes.items():
            await _create_folder_as(dovecot_target, login, address, folder)
        own = await open_imap_source(
            connect_options(dovecot_target), Credentials(address, password)
        )
        try:
            return {folder.name for folder in await own.list_folders()}
        finally:
            await own.close()

    assert set(modes) <= asyncio.run(main())


def test_refused_logins_say_why(dovecot_target: DovecotServer) -> None:
    address, _ = new_user(dovecot_target, "refused")
    options = connect_options(dovecot_target)
    unknown = "nobody@example.com"

    async def outcome(login: TargetLogin, mailbox: str) -> BaseException | None:
        credentials = await target_credentials(login, mailbox)
        try:
            await (await open_imap_target(options, credentials, mailbox=mailbox)).close()
        except (AuthenticationError, MailboxNotFound) as exc:
            return exc
        return None

    async def main() -> list[BaseException | None]:
        attempts = [
            (PerUser({address: (address, "wrong password")}), address),
            (MasterUser(MASTER_USER, MASTER_PASSWORD), unknown),
            (AdminAuthzid(MASTER_USER, MASTER_PASSWORD), unknown),
            (MasterUser(MASTER_USER, "wrong password"), address),
        ]
        return await asyncio.gather(*(outcome(login, mailbox) for login, mailbox in attempts))

    wrong, master_unknown, authzid_unknown, wrong_master = asyncio.run(main())
    assert type(wrong) is AuthenticationError
    assert isinstance(master_unknown, MailboxNotFound) and master_unknown.mailbox == unknown
    assert isinstance(authzid_unknown, MailboxNotFound) and authzid_unknown.mailbox == unknown
    assert "AUTHORIZATIONFAILED" in authzid_unknown.reason
    assert type(wrong_master) is AuthenticationError
