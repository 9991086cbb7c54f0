"""How one mailbox is synced: limits, batching, and the content filter."""

from __future__ import annotations

from dataclasses import dataclass

from mailferry.values.content_filter import ReceivedWindow

MiB = 1024 * 1024
SOURCE_KINDS = ("auto", "imap", "gmail")
GMAIL_LABEL_MODES = ("one-folder", "copy-each")


@dataclass(frozen=True)
class SyncOptions:
    """How one mailbox is synced. Sizes are bytes.

    ``batch_count``/``batch_bytes`` bound one APPEND batch (one intent/outcome pair
    of state writes); ``queue_bytes`` bounds the bodies waiting between the source
    fetch and the target append (one larger message still passes alone);
    ``fetch_chunk`` is how many UIDs one ``source.fetch`` call asks for (the store
    pipelines inside a call); ``batch_linger`` is how long (seconds) a partly filled
    batch waits for more messages; ``append_window`` is how many batches may be in
    flight to the target at once (each with its intent already committed).
    ``stop_drain``: when the copy is stopped (cancelled), how long (seconds) it waits
    for the batches in flight to be answered, so their outcome is recorded instead of
    left in doubt (0: cut them off at once).
    ``queue_bytes + batch_bytes`` bounds every body fetched and not yet done with
    (queued, batched or being appended). ``dry_run`` lists and plans but writes nothing.
    ``received``: the content filter; messages received outside it are not copied.
    ``size_limit_from`` names who set ``max_message_size`` when not the user (a target
    preset, e.g. ``m365``), for the LargeItem reason.
    ``source_kind``: ``gmail`` treats the source as Gmail (folders are labels, see
    ``docs/targets/gmail.md``), ``imap`` never, ``auto`` when it offers X-GM-EXT-1.
    ``gmail_labels``: a Gmail message in several labels is copied into one folder
    (``one-folder``, the others are ``DuplicateLabel`` skipped items) or into each
    (``copy-each``); archived mail (only in All Mail) is copied either way.
    """

    max_message_size: int = 36_700_160
    max_items: int = 500_000
    include_deleted: bool = False
    propagate_deletions: bool = False
    batch_count: int = 100
    batch_bytes: int = 4 * MiB
    queue_bytes: int = 4 * MiB
    fetch_chunk: int = 1000
    batch_linger: float = 1.0
    append_window: int = 2
    stop_drain: float = 15.0
    dry_run: bool = False
    received: ReceivedWindow | None = None
    size_limit_from: str = ""

    source_kind: str = "auto"
    gmail_labels: str = "one-folder"

    def __post_init__(self) -> None:
        if self.source_kind not in SOURCE_KINDS:
            raise ValueError(f"source_kind must be one of {', '.join(SOURCE_KINDS)}")
        if self.gmail_labels not in GMAIL_LABEL_MODES:
            raise ValueError(f"gmail_labels must be one of {', '.join(GMAIL_LABEL_MODES)}")
        for name in ("batch_count", "batch_bytes", "queue_bytes", "fetch_chunk", "append_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if min(self.max_message_size, self.max_items, self.batch_linger, self.stop_drain) < 0:
            raise ValueError("limits must not be negative")
