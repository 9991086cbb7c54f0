"""``UserFormat``: the name the target knows a mailbox by, for every login kind."""

from __future__ import annotations

import asyncio

import pytest

from mailferry.errors import InvalidSetting
from mailferry.stores.logins import (
    AdminAuthzid,
    MasterUser,
    PerUser,
    StaticTokenProvider,
    UserFormat,
    XOAuth2,
    target_credentials,
)
from mailferry.values.connection import AuthMethod

ADDRESS = "terry.adams@contoso.example"


def test_names_from_the_address() -> None:
    assert UserFormat().name(ADDRESS) == ADDRESS
    assert UserFormat("{local}").name(ADDRESS) == "terry.adams"
    assert UserFormat("{local}@corp.internal").name(ADDRESS) == "terry.adams@corp.internal"
    assert UserFormat("{domain}\\{local}").name(ADDRESS) == "contoso.example\\terry.adams"
    assert UserFormat("{local}").name("a@b@c.example") == "a@b"  # the last @ splits


@pytest.mark.parametrize(
    ("template", "words"),
    [("{user}", "{user} is not one of"), ("{local!r}", "is not one of"),
     ("static", "names no part of the address"), ("{local", "expected '}'"),
     ("{local:>9}", "is not one of")],
)  # fmt: skip
def test_bad_formats_are_named(template: str, words: str) -> None:
    with pytest.raises(InvalidSetting, match="--target-user-format") as raised:
        UserFormat(template)
    assert words in str(raised.value)


def test_every_login_kind_uses_the_name() -> None:
    name = UserFormat("{local}").name(ADDRESS)

    def credentials(login: object) -> tuple[str, str, str, AuthMethod]:
        found = asyncio.run(target_credentials(login, ADDRESS, name))  # type: ignore[arg-type]
        return found.username, found.secret, found.authzid, found.method

    assert credentials(AdminAuthzid("admin", "pw")) == ("admin", "pw", name, AuthMethod.PLAIN)
    assert credentials(MasterUser("admin", "pw"))[0] == "terry.adams*admin"
    token = credentials(XOAuth2(StaticTokenProvider("tok")))
    assert token == (name, "tok", "", AuthMethod.XOAUTH2)
    per_user = PerUser({ADDRESS: ("tadams", "own-pw")})  # its CSV names the user itself
    assert credentials(per_user)[:2] == ("tadams", "own-pw")
    default = asyncio.run(target_credentials(MasterUser("admin", "pw"), ADDRESS))
    assert default.username == f"{ADDRESS}*admin"
