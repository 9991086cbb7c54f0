"""A sync the target stopped by refusing its OAuth2 token runs again, with a fresh one.

Access tokens end (about an hour for Entra and Google); a migration lasts days. The
cache renews a token before it ends, but a session logged in with it may still be cut:
Exchange Online ends it with ``* BYE Session invalidated - AccessTokenExpired``,
another server answers a command ``NO [EXPIRED]`` or ``[AUTHENTICATIONFAILED]``
(RFC 5530), and a token revoked early is refused at the next login
(``TokenRefused``, which the connection also raises for such a NO, so that no store takes
it for the refusal of one message or folder). ``token_refused`` recognises them.

Then the attempt is not a failure: ``sync_user_mailbox`` closes its sessions, drops
the refused token (``invalidate``: the next login asks the token endpoint, past any
library cache) and runs the sync again at once. The engine resumes where it stopped,
exactly as after a crash: a batch whose APPEND was cut has its pending pairs
reconciled by fingerprint, so nothing is copied twice. Bounded: after ``limit``
renewals in a row with no message copied between them (a provider handing out tokens
the server keeps refusing), the attempt ends with the refusal as its error, which the
retry policy then judges like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from mailferry.connection.core import says_token_expired
from mailferry.errors import (
    CommandFailed,
    MailferryError,
    ServerBye,
    TokenRefused,
    TokenRequestFailed,
)
from mailferry.stores.logins import RenewableTokenProvider, TargetLogin, XOAuth2
from mailferry.values.progress import MessagesCopied, ProgressEvent

RENEWALS_WITHOUT_PROGRESS: Final = 2

Progress = Callable[[ProgressEvent], None]


def token_refused(error: MailferryError) -> bool:
    """Whether the server's answer says the session's access token no longer holds."""
    if isinstance(error, TokenRefused):
        return True
    if isinstance(error, TokenRequestFailed):
        return False  # the token endpoint's refusal, not the server's: a new token won't come
    if isinstance(error, ServerBye):
        return says_token_expired(None, error.text)
    if isinstance(error, CommandFailed):
        return says_token_expired(error.code, error.text)
    return False


class TokenRenewal:
    """One user's renewals across the attempts of one ``sync_user_mailbox`` call.

    ``watch`` wraps the progress callback (a copied message resets the count);
    ``on_open`` runs the caller's callback once, on the first attempt that opens;
    ``again`` says whether to run the sync again and forgets the refused token."""

    def __init__(
        self, on_open: Callable[[], None] | None = None, *, limit: int = RENEWALS_WITHOUT_PROGRESS
    ) -> None:
        self.limit = limit
        self.renewed = 0
        self._in_a_row = 0
        self._copied = False
        self._on_open = on_open

    def watch(self, progress: Progress | None) -> Progress:
        def seen(event: ProgressEvent) -> None:
            if isinstance(event, MessagesCopied) and event.count:
                self._copied = True
            if progress is not None:
                progress(event)

        return seen

    def on_open(self) -> None:
        opened, self._on_open = self._on_open, None
        if opened is not None:
            opened()

    def again(self, error: MailferryError | None, login: TargetLogin | None, address: str) -> bool:
        """After an attempt: True when it stopped on a refused token and a fresh one may
        do (the refused one is then forgotten); False to end with this outcome."""
        copied, self._copied = self._copied, False
        if error is None or not isinstance(login, XOAuth2) or not token_refused(error):
            return False
        provider = login.provider
        if not isinstance(provider, RenewableTokenProvider):
            return False  # a fixed token: the same one would be refused again
        self._in_a_row = 0 if copied else self._in_a_row + 1
        if self._in_a_row > self.limit:
            return False
        provider.invalidate(address)
        self.renewed += 1
        return True
