"""IncludeFolders / ExcludeFolders entries, parsed and matched the way Exchange documents them.

From Microsoft's New-MigrationBatch reference:

- names are relative to the IMAP root (for us: to the user's root after UserRoot,
  with the personal prefix also accepted and ignored: ``INBOX.Work`` and
  ``Work`` name the same Courier folder), compared without case (and NFC);
- ``/`` separates levels; the source's own delimiter is accepted too;
- ``#Inbox#``, ``#SentItems#``, ``#DeletedItems#``, ``#Drafts#``,
  ``#JunkEmail#``, ``#Archive#``, ``#Outbox#`` name the detected special folders
  whatever they are called; ``#Calendar#``, ``#Contacts#``, ``#Tasks#``,
  ``#Notes#``, ``#Journal#`` the non-mail ones, ``#AllItems#`` a ``\\All``
  folder and ``#Root#`` the whole mailbox; ``\\#Notes\\#`` is a folder literally
  named ``#Notes#``; an unknown ``#Name#`` is taken literally;
- a trailing ``/*`` is accepted and means what the bare name means; there are no
  other wildcards (``*`` and ``%`` are literal).

Where the documentation is silent (recursion) we follow Google's documented
behaviour and what an administrator expects: an entry covers the folder *and
all its subfolders*, for both lists (excluding ``[Gmail]`` must exclude
``[Gmail]/All Mail``). An entry that names a folder's parent does not cover
folders the personal-prefix stripping lifted to the top.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from mailferry.engine.folder_scope import Path, inbox_first, split_loose
from mailferry.engine.special_folders import NonMailKind, SpecialUse


class WellKnown(StrEnum):
    """Documented well-known names that are neither mail nor non-mail folders."""

    ROOT = "Root"
    ALL_ITEMS = "AllItems"


Identity = SpecialUse | NonMailKind | WellKnown

_DOCUMENTED: dict[str, Identity] = {
    kind.value.casefold(): kind
    for kind in (
        *SpecialUse,
        *(k for k in NonMailKind if k not in (NonMailKind.SYNC_ISSUES, NonMailKind.PEOPLE)),
        *WellKnown,
    )
}
_WELL_KNOWN = re.compile(r"#([A-Za-z]+)#\Z")


@dataclass(frozen=True)
class FolderFilter:
    """One entry: either a well-known identity or a path (components as typed)."""

    text: str
    well_known: Identity | None
    path: str


def parse_filter(text: str) -> FolderFilter | None:
    """Parse one entry; None for a blank one."""
    body = text.strip()
    if body.endswith("/*"):
        body = body[:-2]
    if not body.strip():
        return None
    match = _WELL_KNOWN.match(body)
    if match and match.group(1).casefold() in _DOCUMENTED:
        return FolderFilter(text, _DOCUMENTED[match.group(1).casefold()], "")
    return FolderFilter(text, None, body.replace("\\#", "#"))


def match_key(path: Path) -> Path:
    """The comparison form of a path: NFC, case-folded, ``/`` splitting levels too."""
    return tuple(
        part
        for component in path
        for part in unicodedata.normalize("NFC", component).casefold().split("/")
    )


class FilterList:
    """IncludeFolders or ExcludeFolders, ready to match the user's folders."""

    def __init__(
        self,
        entries: Iterable[str],
        delimiters: Iterable[str | None],
        strip: Sequence[Path] = (),
    ) -> None:
        self.filters = tuple(f for f in (parse_filter(e) for e in entries) if f is not None)
        self._by_identity: dict[Identity, FolderFilter] = {}
        self._by_path: dict[Path, FolderFilter] = {}
        for entry in self.filters:
            if entry.well_known is not None:
                self._by_identity.setdefault(entry.well_known, entry)
                continue
            for delimiter in sorted({d or "/" for d in delimiters} or {"/"}):
                key = _strip(match_key(inbox_first(split_loose(entry.path, delimiter))), strip)
                self._by_path.setdefault(key, entry)
        self.used: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.filters)

    def match(self, key: Path, identities: Iterable[Identity]) -> FolderFilter | None:
        """The entry naming this folder itself (not an ancestor), recording it as used."""
        found = self._by_path.get(key)
        for identity in identities:
            found = found or self._by_identity.get(identity)
        if found is not None:
            self.used.add(found.text)
        return found

    def unused(self) -> tuple[str, ...]:
        """Entries that named no folder, in the order given."""
        return tuple(f.text for f in self.filters if f.text not in self.used)


def _strip(key: Path, prefixes: Sequence[Path]) -> Path:
    for prefix in prefixes:
        folded = match_key(prefix)
        if folded and len(key) > len(folded) and key[: len(folded)] == folded:
            key = key[len(folded) :]
    return key
