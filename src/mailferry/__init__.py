"""mailferry: migrate mailboxes from any IMAP server to a new home."""

__version__ = "0.1.0"
