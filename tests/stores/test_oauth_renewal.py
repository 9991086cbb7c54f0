"""Which server answers say the session's token no longer holds (recorded answers:
Exchange Online's BYE, RFC 5530's codes, Dovecot's XOAUTH2 refusal), and when a sync
stopped by one runs again: only with a provider that can renew, never in a loop.

The whole path, against a real Dovecot, is in tests/integration/test_oauth_dovecot.py."""

from __future__ import annotations

import pytest

from mailferry.connection.core import command_error, says_token_expired
from mailferry.errors import (
    AuthenticationError,
    CommandFailed,
    ConnectionLost,
    MailferryError,
    ServerBye,
    TokenRefused,
    TokenRequestFailed,
)
from mailferry.imap.events import ResponseCode, TaggedResponse
from mailferry.stores.logins import MasterUser, StaticTokenProvider, XOAuth2
from mailferry.stores.oauth.cache import CachedTokenProvider, Grant
from mailferry.stores.oauth.renewal import RENEWALS_WITHOUT_PROGRESS, TokenRenewal, token_refused
from mailferry.values.progress import MailboxStarted, MessagesCopied, ProgressEvent

BUSY = "Server busy. Suggested Backoff Time: 1 milliseconds"


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        (ServerBye("Session invalidated - AccessTokenExpired"), True),  # Exchange Online
        (ServerBye(BUSY), False),
        (ServerBye("Logged out"), False),
        (TokenRefused('[AUTHENTICATIONFAILED] Authentication failed. {"status":"401"}'), True),
        (TokenRefused("AUTHENTICATE failed."), True),
        (CommandFailed("SELECT", "NO", "EXPIRED", "Access no longer permitted"), True),
        (CommandFailed("APPEND", "NO", None, "Your token has expired"), True),
        (CommandFailed("APPEND", "NO", "TRYCREATE", "Mailbox doesn't exist"), False),
        (CommandFailed("APPEND", "NO", None, "Message too large"), False),
        (AuthenticationError("[AUTHENTICATIONFAILED] Authentication failed."), False),
        (TokenRequestFailed("Entra: invalid_client"), False),  # the endpoint's, not the server's
        (ConnectionLost("reset"), False),
    ],
)
def test_token_refusals_are_recognised(error: MailferryError, refused: bool) -> None:
    assert token_refused(error) is refused


def _tagged(code: str | None, text: str) -> TaggedResponse:
    return TaggedResponse("A7", "NO", ResponseCode(code) if code else None, text)


def test_the_connection_raises_a_mid_session_expiry_as_token_refused() -> None:
    """Not a CommandFailed: no store may take it for one message's or folder's refusal."""
    for code, text in [("AUTHENTICATIONFAILED", "AccessTokenExpired"), ("EXPIRED", "no")]:
        with pytest.raises(TokenRefused) as caught:
            command_error("APPEND", _tagged(code, text))
        assert not isinstance(caught.value, CommandFailed)
        assert caught.value.reason == f"APPEND: NO [{code}] {text}"
    plain = command_error("APPEND", _tagged("OVERQUOTA", "Quota exceeded"))
    assert type(plain) is CommandFailed and plain.code == "OVERQUOTA"
    assert not says_token_expired("TRYCREATE", "no such mailbox")


class _Source:
    async def fetch(self, user: str, *, forced: bool) -> Grant:
        return Grant("t", 3600)


class _Provider(CachedTokenProvider):
    def __init__(self) -> None:
        super().__init__(_Source())
        self.invalidated: list[str] = []

    def invalidate(self, user: str, token: str | None = None) -> None:
        self.invalidated.append(user)
        super().invalidate(user, token)


EXPIRED = ServerBye("Session invalidated - AccessTokenExpired")


def test_renewal_only_for_a_refused_token_of_a_renewing_provider() -> None:
    provider = _Provider()
    renewal = TokenRenewal()
    assert not renewal.again(None, XOAuth2(provider), "a@x.example")
    assert not renewal.again(ServerBye(BUSY), XOAuth2(provider), "a@x.example")
    assert not renewal.again(EXPIRED, XOAuth2(StaticTokenProvider("fixed")), "a@x.example")
    assert not renewal.again(EXPIRED, MasterUser("admin", "pw"), "a@x.example")
    assert not renewal.again(EXPIRED, None, "a@x.example")  # a Maildir target
    assert renewal.again(EXPIRED, XOAuth2(provider), "a@x.example")
    assert provider.invalidated == ["a@x.example"] and renewal.renewed == 1


def test_renewals_without_a_copied_message_are_bounded() -> None:
    provider, seen = _Provider(), list[ProgressEvent]()
    renewal = TokenRenewal()
    progress = renewal.watch(seen.append)
    login = XOAuth2(provider)
    for _ in range(RENEWALS_WITHOUT_PROGRESS):
        progress(MailboxStarted(10, 1000, 1))  # not a copy
        assert renewal.again(EXPIRED, login, "a@x.example")
    assert not renewal.again(EXPIRED, login, "a@x.example")  # the provider keeps failing
    renewal = TokenRenewal()
    progress = renewal.watch(seen.append)
    for _ in range(3 * RENEWALS_WITHOUT_PROGRESS):  # each token copied something: go on
        progress(MessagesCopied("INBOX", 2, 200))
        assert renewal.again(EXPIRED, login, "a@x.example")
    assert renewal.renewed == 3 * RENEWALS_WITHOUT_PROGRESS
    assert len(seen) == 4 * RENEWALS_WITHOUT_PROGRESS  # the caller's callback saw every event


def test_on_open_runs_once_across_attempts() -> None:
    opened: list[int] = []
    renewal = TokenRenewal(lambda: opened.append(1))
    renewal.on_open()
    renewal.on_open()
    assert opened == [1]
    TokenRenewal().on_open()  # no callback: nothing to run
