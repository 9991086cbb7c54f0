"""Gmail as a source: folders are labels, so one message shows up in several folders.

Gmail's IMAP shows each label as a folder and every message (but Trash and Spam) once
more in ``[Gmail]/All Mail``; ``Important`` and ``Starred`` are views (Starred is the
``\\Flagged`` flag, which every copy keeps). Copying each folder as it is would copy a
message once per label and once more from All Mail, so for a Gmail source:

- **Folders** (:func:`gmail_folders`): Important and Starred are not migrated
  (``GmailVirtual``); All Mail is (as the Archive folder), for the mail only it holds.
- **Messages** (:func:`duplicate_labels`): each listed message's X-GM-LABELS say which
  folders hold it. In All Mail, a message with a label that is a source folder is a
  ``DuplicateLabel`` skipped item (copied from, or excluded with, that folder); one with
  no such label (archived) is copied. In a label folder, with ``one-folder`` (the
  default) a message is copied only into the first of its folders in the plan's order
  (INBOX first, then shallow before deep, then by name) and is a ``DuplicateLabel``
  elsewhere; ``copy-each`` copies it into each. The decision needs nothing but the
  message's own labels, so it is the same at every sync (no state kept across folders)
  and every message stays copied or skipped with a reason (``docs/design/completeness.md``).

Without X-GM-LABELS (a server declared Gmail that is not, as the tests' Dovecot stand-in)
All Mail is matched to the other folders by fingerprint instead
(``engine/gmail_unlabelled.py``); label folders are not matched to each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from mailferry.engine.folder_types import FolderMapping, SourceFolder
from mailferry.engine.planner import DUPLICATE_LABEL
from mailferry.stores.base import MessageMeta
from mailferry.values.results import SkippedFolder, SkipReason

__all__ = ["DUPLICATE_LABEL", "duplicate_labels", "gmail_folders"]
ARCHIVE_ATTRIBUTE = "\\Archive"

# Gmail's system labels and the RFC 6154 attribute of the folder each is shown as.
_SYSTEM_LABELS = {
    "\\sent": "\\sent",
    "\\draft": "\\drafts",
    "\\drafts": "\\drafts",
    "\\trash": "\\trash",
    "\\spam": "\\junk",
    "\\junk": "\\junk",
    "\\flagged": "\\flagged",
    "\\starred": "\\flagged",
    "\\important": "\\important",
}
_VIRTUAL = {
    "\\important": "Gmail's Important view (its priority marker), not a folder",
    "\\flagged": "Gmail's Starred view: starred messages keep the \\Flagged flag",
}


def _attributes(folder: SourceFolder) -> set[str]:
    return {a.lower() for a in folder.attributes}


def is_all_mail(folder: SourceFolder) -> bool:
    return "\\all" in _attributes(folder)


def gmail_folders(
    folders: Sequence[SourceFolder],
) -> tuple[list[SourceFolder], list[SkippedFolder]]:
    """The folders to plan for a Gmail source (All Mail claims Archive) and the views
    that are not migrated."""
    kept: list[SourceFolder] = []
    skipped: list[SkippedFolder] = []
    for folder in folders:
        virtual = next((_VIRTUAL[a] for a in _attributes(folder) if a in _VIRTUAL), None)
        if virtual is not None and folder.selectable:
            skipped.append(SkippedFolder(folder.name, SkipReason.GMAIL_VIRTUAL, virtual))
        elif is_all_mail(folder) and ARCHIVE_ATTRIBUTE.lower() not in _attributes(folder):
            attributes = (*folder.attributes, ARCHIVE_ATTRIBUTE)
            kept.append(SourceFolder(folder.name, folder.delimiter, attributes))
        else:
            kept.append(folder)
    return kept, skipped


class LabelFolders:
    """Which source folder each Gmail label is, from the source's folder list."""

    def __init__(self, folders: Iterable[SourceFolder]) -> None:
        self.by_name: dict[str, str] = {}
        self.by_attribute: dict[str, str] = {}
        self.virtual: set[str] = set()
        for folder in sorted(folders, key=lambda f: f.name):
            if not folder.selectable:
                continue
            attributes = _attributes(folder)
            if attributes & _VIRTUAL.keys() or "\\all" in attributes:
                self.virtual.add(folder.name)
                continue
            self.by_name.setdefault(folder.name, folder.name)
            for attribute in attributes:
                self.by_attribute.setdefault(attribute, folder.name)
            if folder.name.upper() == "INBOX":
                self.by_attribute.setdefault("\\inbox", folder.name)

    def folder(self, label: str) -> str | None:
        """The source folder a label is shown as; None for a view or an unknown label."""
        if label.startswith("\\"):
            lowered = label.lower()
            if lowered == "\\inbox":
                return self.by_attribute.get("\\inbox")
            attribute = _SYSTEM_LABELS.get(lowered)
            return None if attribute is None else self.by_attribute.get(attribute)
        return self.by_name.get(label)

    def folders_of(self, meta: MessageMeta) -> list[str]:
        found = (self.folder(label) for label in meta.gm_labels or ())
        return list(dict.fromkeys(name for name in found if name is not None))


def duplicate_labels(
    candidates: Mapping[str, Sequence[MessageMeta]],
    mappings: Sequence[FolderMapping],
    folders: Sequence[SourceFolder],
    *,
    copy_each: bool,
) -> dict[str, dict[int, str]]:
    """Per source folder, the candidate UIDs (messages it would copy) that are
    ``DuplicateLabel`` skipped items, each with its reason (see the module docstring).
    ``mappings`` are the plan's folders in its order; ``folders`` the source's list."""
    labels = LabelFolders(folders)
    all_mail = {f.name for f in folders if is_all_mail(f)}
    rank = {m.source_name: i for i, m in enumerate(mappings) if m.source_name not in all_mail}
    found: dict[str, dict[int, str]] = {}
    for folder, metas in candidates.items():
        dups: dict[int, str] = {}
        for meta in metas:
            if meta.gm_labels is None:
                continue
            reason = _why(folder, meta, labels.folders_of(meta), folder in all_mail,
                          rank, copy_each)  # fmt: skip
            if reason is not None:
                dups[meta.uid] = reason
        if dups:
            found[folder] = dups
    return found


def _why(
    folder: str,
    meta: MessageMeta,
    holders: list[str],
    in_all_mail: bool,
    rank: Mapping[str, int],
    copy_each: bool,
) -> str | None:
    msgid = f" (X-GM-MSGID {meta.gm_msgid})" if meta.gm_msgid is not None else ""
    if in_all_mail:
        others = [name for name in holders if name != folder]
        if not others:
            return None  # archived: All Mail alone holds it
        home = min(others, key=lambda name: rank.get(name, len(rank)))
        where = "copied from there" if home in rank else "not migrated with it"
        return f"in All Mail and labelled '{home}'{msgid}: {where}"
    if copy_each:
        return None
    mapped = [name for name in {*holders, folder} if name in rank]
    home = min(mapped, key=lambda name: (rank[name], name))
    if home == folder:
        return None
    return (
        f"also labelled '{home}'{msgid}: copied once, there "
        "(--gmail-labels copy-each copies it into each label)"
    )
