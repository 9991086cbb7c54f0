"""Known targets' limits and quirks as data (``--target-preset``); facts and sources in
``docs/targets/m365.md``.

A preset turns into the :class:`~mailferry.engine.folder_types.TargetLayout` the folder
mapper works with (refused characters, reserved names, Exchange's special folders,
case-insensitive names) and a message size limit the planner applies (an oversize
message is a skipped ``LargeItem`` whose reason names the limit). What the target
itself announces still wins: its SPECIAL-USE folders (``engine.sync``) and APPENDLIMIT
(``stores.imap_target``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from mailferry.engine.folder_types import TargetLayout
from mailferry.engine.special_folders import SpecialUse
from mailferry.errors import InvalidSetting

MB = 1024 * 1024


@dataclass(frozen=True)
class TargetPreset:
    """One kind of target: what it refuses and how it names its special folders."""

    name: str
    description: str
    max_message_bytes: int
    special_folders: Mapping[SpecialUse, str] = field(hash=False)
    forbidden_characters: str = ""
    reserved_names: tuple[str, ...] = ()
    case_insensitive: bool = False
    max_component_bytes: int = 255
    max_depth: int = 64

    def layout(self, base: TargetLayout) -> TargetLayout:
        """``base`` (the target's delimiter and prefix) with this preset's rules."""
        return replace(
            base,
            special_folders={**base.special_folders, **self.special_folders},
            forbidden_characters=_merged(base.forbidden_characters, self.forbidden_characters),
            reserved_names=tuple(dict.fromkeys((*base.reserved_names, *self.reserved_names))),
            case_insensitive=base.case_insensitive or self.case_insensitive,
            max_component_bytes=min(base.max_component_bytes, self.max_component_bytes),
            max_depth=min(base.max_depth, self.max_depth),
            max_message_bytes=_smaller(base.max_message_bytes, self.max_message_bytes),
            limits_from=self.name,
        )


#: Exchange's non-mail folders at the top of the mailbox (its well-known Calendar,
#: Contacts, Tasks, Notes, Journal and Sync Issues) and its Outbox (what waits there is
#: sent): a source folder of that name can't be merged into them, it gets a numbered
#: name. Folders that hold mail items (Conversation History, RSS Feeds) are not reserved.
_EXCHANGE_RESERVED = (
    "Calendar", "Contacts", "Tasks", "Notes", "Journal", "Sync Issues", "Outbox",
)  # fmt: skip

#: Microsoft 365 / Exchange Online over IMAP (see docs/targets/m365.md for each fact).
M365 = TargetPreset(
    name="m365",
    description="Microsoft 365 / Exchange Online (IMAP)",
    max_message_bytes=35 * MB,
    special_folders=MappingProxyType(
        {
            SpecialUse.SENT: "Sent Items",
            SpecialUse.TRASH: "Deleted Items",
            SpecialUse.JUNK: "Junk Email",
            SpecialUse.DRAFTS: "Drafts",
            SpecialUse.ARCHIVE: "Archive",
        }
    ),
    # IMAP's wildcards (Exchange refuses them in folder names) and Exchange's own path
    # separator; "/" is the IMAP delimiter and is replaced anyway.
    forbidden_characters="*%\\",
    reserved_names=_EXCHANGE_RESERVED,
    case_insensitive=True,
)

#: The same for a tenant whose administrator raised the mailboxes' MaxReceiveSize to
#: Exchange Online's largest, 150 MB (``Set-Mailbox``/``Set-MailboxPlan``): only the
#: size limit differs. Microsoft's migration pages only ever say 35 MB, so whether an
#: IMAP APPEND honours the raised limit is unconfirmed; a refusal is a CorruptItem with
#: the server's words, never a silent loss (docs/targets/m365.md).
M365_150MB = replace(
    M365,
    name="m365-150mb",
    description="Microsoft 365 / Exchange Online (IMAP), MaxReceiveSize raised to 150 MB",
    max_message_bytes=150 * MB,
)

PRESETS: Mapping[str, TargetPreset] = MappingProxyType(
    {preset.name: preset for preset in (M365, M365_150MB)}
)


def target_preset(name: str, what: str = "--target-preset") -> TargetPreset:
    """The preset called ``name``; ``InvalidSetting`` naming the known ones otherwise."""
    found = PRESETS.get(name.strip().lower())
    if found is None:
        raise InvalidSetting([f"{what} {name!r} is not one of {', '.join(PRESETS)}"])
    return found


def _merged(first: str, second: str) -> str:
    return "".join(dict.fromkeys(first + second))


def _smaller(first: int | None, second: int | None) -> int | None:
    values = [value for value in (first, second) if value is not None]
    return min(values) if values else None
