"""Mailbox stores: where mail is read from (source) and written to (target).

The protocols and value types are in ``base``; implementations:
``imap_source.ImapSource``, ``imap_target.ImapTarget`` and
``maildir_target.MaildirTarget`` (Maildir++ that Dovecot serves as is);
``logins`` says how each user logs in on either side.

The names below are loaded on first use: importing ``mailferry.stores.base`` must not
import every implementation (a Maildir run needs no IMAP target, and the reverse).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailferry.stores.base import SourceMailbox, TargetMailbox
    from mailferry.stores.imap_source import ImapSource, open_imap_source
    from mailferry.stores.imap_target import ImapTarget, open_imap_target
    from mailferry.stores.maildir_target import MaildirMailbox, MaildirTarget

_EXPORTS = {
    "ImapSource": "imap_source",
    "ImapTarget": "imap_target",
    "MaildirMailbox": "maildir_target",
    "MaildirTarget": "maildir_target",
    "open_imap_source": "imap_source",
    "open_imap_target": "imap_target",
}

__all__ = [
    "ImapSource",
    "ImapTarget",
    "MaildirMailbox",
    "MaildirTarget",
    "open_imap_source",
    "open_imap_target",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def _conforms(
    source: ImapSource, imap: ImapTarget, maildir: MaildirMailbox
) -> tuple[SourceMailbox, TargetMailbox, TargetMailbox]:
    """Never called: mypy checks here that the implementations fit the protocols."""
    return source, imap, maildir
