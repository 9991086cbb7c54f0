"""Mailbox stores: where mail is read from (source) and written to (target).

The protocols and value types are in ``base``; implementations:
``imap_source.ImapSource``, ``imap_target.ImapTarget`` and
``maildir_target.MaildirTarget`` (Maildir++ that Dovecot serves as is);
``logins`` says how each user logs in on either side.
"""

from mailferry.stores.base import SourceMailbox, TargetMailbox
from mailferry.stores.imap_source import ImapSource, open_imap_source
from mailferry.stores.imap_target import ImapTarget, open_imap_target
from mailferry.stores.maildir_target import MaildirMailbox, MaildirTarget

__all__ = [
    "ImapSource",
    "ImapTarget",
    "MaildirMailbox",
    "MaildirTarget",
    "open_imap_source",
    "open_imap_target",
]


def _conforms(
    source: ImapSource, imap: ImapTarget, maildir: MaildirMailbox
) -> tuple[SourceMailbox, TargetMailbox, TargetMailbox]:
    """Never called: mypy checks here that the implementations fit the protocols."""
    return source, imap, maildir
