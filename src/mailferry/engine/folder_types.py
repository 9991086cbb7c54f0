"""The values the folder mapper takes and returns (see :mod:`mailferry.engine.folders`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mailferry.engine.special_folders import (
    DEFAULT_TARGET_SPECIAL_FOLDERS,
    SpecialUse,
    has_attribute,
)
from mailferry.values.results import SkippedFolder


@dataclass(frozen=True)
class SourceFolder:
    """One LIST entry of the source: decoded full name, its delimiter (None = flat), flags."""

    name: str
    delimiter: str | None
    attributes: tuple[str, ...] = ()

    def has_attribute(self, attribute: str) -> bool:
        """Whether the folder carries ``attribute`` (case-insensitive, e.g. ``\\Noselect``)."""
        return has_attribute(self.attributes, attribute)

    @property
    def selectable(self) -> bool:
        """False for ``\\Noselect`` and ``\\NonExistent`` folders."""
        return not (self.has_attribute("\\Noselect") or self.has_attribute("\\NonExistent"))


@dataclass(frozen=True)
class TargetLayout:
    """What the target accepts.

    ``personal_prefix`` is the target's personal namespace prefix (``INBOX.`` on
    Courier, ending with ``delimiter``; ``""`` for none): every folder but INBOX is
    placed under it. ``special_folders`` names the target's own Sent/Trash/... folders
    inside that namespace (without the prefix), written with ``delimiter``; INBOX is
    always ``INBOX``. Lengths (of full names, prefix included) are counted in bytes of the
    longer of the UTF-8 and modified UTF-7 encodings (what disks and the wire see).
    ``max_depth`` bounds the hierarchy: deeper folders are flattened into their
    ancestor at that depth. The defaults suit Dovecot (4096-byte names, 255-byte
    levels); a Maildir++ store passes its own ``max_name_bytes``.
    ``reserved_names``: top-level names the target keeps for itself (Exchange's
    Calendar, Contacts…): a source folder of that name gets a numbered one.
    ``max_message_bytes``: the largest message the target takes (None: only the sync
    options' limit); ``limits_from`` names where these rules come from (a preset).
    """

    delimiter: str
    special_folders: Mapping[SpecialUse, str] = field(
        default_factory=lambda: DEFAULT_TARGET_SPECIAL_FOLDERS, hash=False
    )
    case_insensitive: bool = False
    forbidden_characters: str = ""
    max_component_bytes: int = 255
    max_name_bytes: int = 4096
    max_depth: int = 64
    personal_prefix: str = ""
    reserved_names: tuple[str, ...] = ()
    max_message_bytes: int | None = None
    limits_from: str = ""

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1:
            raise ValueError(f"the target delimiter must be one character: {self.delimiter!r}")
        if min(self.max_component_bytes, self.max_name_bytes) < 32:
            raise ValueError("name limits too small to rename folders predictably")
        if self.max_depth < 1:
            raise ValueError("max_depth must be at least 1")
        prefix = self.personal_prefix
        if prefix and not (prefix.endswith(self.delimiter) and all(self.prefix_path)):
            raise ValueError(f"the personal prefix must end with the delimiter: {prefix!r}")
        if self.max_depth <= len(self.prefix_path):
            raise ValueError("max_depth must leave a level below the personal prefix")
        object.__setattr__(self, "special_folders", MappingProxyType(dict(self.special_folders)))

    @property
    def prefix_path(self) -> tuple[str, ...]:
        """The personal prefix as a path (``INBOX.`` → ``("INBOX",)``; empty for none)."""
        prefix = self.personal_prefix
        return tuple(prefix[: -len(self.delimiter)].split(self.delimiter)) if prefix else ()


@dataclass(frozen=True)
class FolderOptions:
    """Per-user and per-batch choices.

    ``user_root``: the CSV's UserRoot. ``personal_prefix``: the NAMESPACE personal
    prefix (e.g. ``"INBOX."``); None lets the mapper detect a Courier-style
    ``INBOX.`` prefix, ``""`` says there is none; with a UserRoot it is ignored
    and the prefix is detected inside the user's tree. ``include``/``exclude``: the
    batch's IncludeFolders/ExcludeFolders. ``exchange_source``: whether the source
    is Exchange (its non-mail folders are skipped); None detects it from the
    folder names. ``migrate_all_mail``: copy a ``\\All`` folder (Gmail's All Mail).
    ``namespace_prefixes``: the source's other-users and shared NAMESPACE prefixes
    (Courier's ``#shared.``), under which a UserRoot is also looked for; the sync
    fills it in from the source when there is a UserRoot. ``gmail_source``: the source
    is Gmail: All Mail migrates as the Archive folder (``engine/gmail_labels``
    de-duplicates it), Important and Starred are skipped as ``GmailVirtual``.
    """

    user_root: str | None = None
    personal_prefix: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    exchange_source: bool | None = None
    migrate_all_mail: bool = False
    namespace_prefixes: tuple[str, ...] = ()
    gmail_source: bool = False


@dataclass(frozen=True)
class FolderMapping:
    """A source folder that is migrated, and where to (``target_path`` joined = name)."""

    source_name: str
    target_name: str
    target_path: tuple[str, ...]
    special_use: SpecialUse | None = None
    notes: tuple[str, ...] = ()

    @property
    def note(self) -> str | None:
        """The notes as one line, or None when the folder kept its name."""
        return "; ".join(self.notes) if self.notes else None


@dataclass(frozen=True)
class FolderPlan:
    """The mapper's answer; mappings are ordered so target parents come before children."""

    mappings: tuple[FolderMapping, ...]
    skipped: tuple[SkippedFolder, ...]
    unmatched_filters: tuple[str, ...] = ()

    def mapping_for(self, source_name: str) -> FolderMapping | None:
        """The mapping of one source folder, or None when it is not migrated."""
        return next((m for m in self.mappings if m.source_name == source_name), None)
