"""How one user logs in on the source and on the target.

The source: the CSV's ``UserName``/``Password`` are sent verbatim, so every
admin-login format of the source servers works unchanged (Exchange
``Domain/Admin/User``, Dovecot ``user*admin``, Mirapoint ``#user@domain#admin#``).

The target is chosen once for the whole batch, then applied to each address:

- ``AdminAuthzid``: the admin authenticates with SASL PLAIN and acts as the
  user through the authorization identity (``authzid = address``);
- ``MasterUser``: Dovecot's master-user login ``<address><separator><admin>``;
- ``PerUser``: one user name and password per address;
- ``XOAuth2``: an access token per address from a ``TokenProvider``
  (``StaticTokenProvider`` for one fixed token; the renewing ones, Entra, Google and
  refresh-token grants, are in ``stores.oauth``).

Which name the target knows a mailbox by is the ``UserFormat``: the address by default,
its local part for servers without virtual domains (``{local}``), or any template of
``{address}``, ``{local}`` and ``{domain}``. Every kind but ``PerUser`` (whose logins
CSV names each user itself) logs in, or acts, as that name.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from mailferry.connection.auth import Credentials
from mailferry.errors import AuthenticationError, InvalidSetting
from mailferry.values.connection import AuthMethod

USER_FIELDS = ("address", "local", "domain")


@dataclass(frozen=True)
class UserFormat:
    """The target user name of each mailbox, from its address: ``{address}``,
    ``{local}`` (before the last ``@``), ``{domain}`` (after it), e.g.
    ``{local}@corp.internal``."""

    template: str = "{address}"

    def __post_init__(self) -> None:
        problem = _template_problem(self.template)
        if problem is not None:
            raise InvalidSetting([f"--target-user-format {self.template!r}: {problem}"])

    def name(self, address: str) -> str:
        local, at, domain = address.rpartition("@")
        if not at:
            local, domain = address, ""
        return self.template.format(address=address, local=local, domain=domain)


def _template_problem(template: str) -> str | None:
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        return str(error)
    fields = [(name, spec, conv) for _, name, spec, conv in parts if name is not None]
    if not fields:
        return "names no part of the address ({address}, {local} or {domain})"
    for name, spec, conversion in fields:
        if name not in USER_FIELDS or spec or conversion:
            return f"{{{name}}} is not one of {{address}}, {{local}}, {{domain}}"
    return None


ADDRESS = UserFormat()
"""The default: the target knows each mailbox by its address."""


class TokenProvider(Protocol):
    """Hands out an OAuth2 access token for a mailbox (refreshing as needed)."""

    async def token(self, user: str) -> str: ...


@runtime_checkable
class RenewableTokenProvider(TokenProvider, Protocol):
    """A provider that can replace a token the server refused (``stores.oauth``)."""

    def invalidate(self, user: str, token: str | None = None) -> None:
        """Forget ``user``'s token (``token``, or whichever is cached): the next
        ``token`` call gets a fresh one."""
        ...


@dataclass(frozen=True)
class StaticTokenProvider:
    """The same token for everyone (tests, short-lived app tokens)."""

    access_token: str = field(repr=False)

    async def token(self, user: str) -> str:
        return self.access_token


@dataclass(frozen=True)
class AdminAuthzid:
    """SASL PLAIN as ``admin_user``, authorized as the mailbox's address."""

    admin_user: str
    admin_password: str = field(repr=False)


@dataclass(frozen=True)
class MasterUser:
    """Dovecot master user: log in as ``<address><separator><admin_user>``."""

    admin_user: str
    admin_password: str = field(repr=False)
    separator: str = "*"


@dataclass(frozen=True)
class PerUser:
    """Each address's own ``(user name, password)``; lookup ignores the address's case."""

    logins: Mapping[str, tuple[str, str]] = field(repr=False)

    def lookup(self, address: str) -> tuple[str, str] | None:
        found = self.logins.get(address)
        if found is not None:
            return found
        wanted = address.casefold()
        return next((v for k, v in self.logins.items() if k.casefold() == wanted), None)


@dataclass(frozen=True)
class XOAuth2:
    """OAuth2 bearer tokens (Microsoft 365, Google) from ``provider``."""

    provider: TokenProvider


TargetLogin = AdminAuthzid | MasterUser | PerUser | XOAuth2


async def target_credentials(
    login: TargetLogin, email_address: str, user_name: str | None = None
) -> Credentials:
    """The credentials that open ``email_address``'s mailbox on the target, known there
    as ``user_name`` (default: the address; see ``UserFormat``)."""
    name = email_address if user_name is None else user_name
    if isinstance(login, AdminAuthzid):
        return Credentials(
            login.admin_user, login.admin_password, authzid=name, method=AuthMethod.PLAIN
        )
    if isinstance(login, MasterUser):
        username = f"{name}{login.separator}{login.admin_user}"
        return Credentials(username, login.admin_password)
    if isinstance(login, PerUser):
        found = login.lookup(email_address)
        if found is None:
            raise AuthenticationError(f"no target credentials given for {email_address}")
        return Credentials(found[0], found[1])
    token = await login.provider.token(name)
    return Credentials(name, token, method=AuthMethod.XOAUTH2)


def source_credentials(
    user_name: str, password: str, method: AuthMethod = AuthMethod.BASIC
) -> Credentials:
    """The CSV's ``UserName``/``Password`` as given, with the endpoint's method."""
    return Credentials(user_name, password, method=method)
