"""plan_folders on the listings real servers give (Dovecot, Courier, Exchange, Gmail, Danish)."""

from __future__ import annotations

from mailferry.engine.folders import (
    FolderOptions,
    FolderPlan,
    SkipReason,
    SourceFolder,
    SpecialUse,
    TargetLayout,
    plan_folders,
)
from mailferry.engine.special_folders import DEFAULT_TARGET_SPECIAL_FOLDERS

DOVECOT = TargetLayout(".")  # Maildir++ style: Sent, Drafts, Trash, Junk, Archive
SLASH = TargetLayout("/")
EXCHANGE_TARGET = TargetLayout(
    "/",
    special_folders={
        SpecialUse.SENT: "Sent Items",
        SpecialUse.TRASH: "Deleted Items",
        SpecialUse.JUNK: "Junk Email",
        SpecialUse.DRAFTS: "Drafts",
        SpecialUse.ARCHIVE: "Archive",
        SpecialUse.OUTBOX: "Outbox",
    },
    case_insensitive=True,
)


def folders(delimiter: str | None, *names: str | tuple[str, tuple[str, ...]]) -> list[SourceFolder]:
    out = []
    for entry in names:
        name, attributes = (entry, ()) if isinstance(entry, str) else entry
        out.append(SourceFolder(name, delimiter, attributes))
    return out


def targets(plan: FolderPlan) -> dict[str, str]:
    return {m.source_name: m.target_name for m in plan.mappings}


def skips(plan: FolderPlan) -> dict[str, SkipReason]:
    return {s.source_name: s.reason for s in plan.skipped}


def test_dovecot_maildir_listing_to_a_slash_target() -> None:
    source = folders(
        ".",
        "INBOX",
        ("Sent", ("\\Sent",)),
        ("Drafts", ("\\Drafts",)),
        ("Trash", ("\\Trash",)),
        ("Junk", ("\\Junk",)),
        "Work",
        "Work.2023",
        "Work.2023.Q1",
    )
    plan = plan_folders(source, SLASH, FolderOptions())
    assert targets(plan) == {
        "INBOX": "INBOX",
        "Sent": "Sent",
        "Drafts": "Drafts",
        "Trash": "Trash",
        "Junk": "Junk",
        "Work": "Work",
        "Work.2023": "Work/2023",
        "Work.2023.Q1": "Work/2023/Q1",
    }
    assert plan.skipped == ()
    assert all(m.note is None for m in plan.mappings)


def test_exchange_listing_to_dovecot() -> None:
    source = folders(
        "/",
        "INBOX",
        "Sent Items",
        "Deleted Items",
        "Drafts",
        "Junk Email",
        "Outbox",
        "Archive",
        "Calendar",
        "Calendar/Birthdays",
        "Calendar/United States holidays",
        "Contacts",
        "Contacts/Recipient Cache",
        "Tasks",
        "Notes",
        "Journal",
        "Sync Issues",
        "Sync Issues/Conflicts",
        "Sync Issues/Local Failures",
        "Conversation History",
        "Customers/Mr. Smith",
    )
    plan = plan_folders(source, DOVECOT, FolderOptions())
    assert targets(plan) == {
        "INBOX": "INBOX",
        "Sent Items": "Sent",
        "Deleted Items": "Trash",
        "Drafts": "Drafts",
        "Junk Email": "Junk",
        "Archive": "Archive",
        "Outbox": "Outbox",  # Dovecot has no outbox: kept its name
        "Conversation History": "Conversation History",
        "Customers/Mr. Smith": "Customers.Mr\u2024 Smith",
    }
    non_mail = {name for name, reason in skips(plan).items() if reason is SkipReason.NON_MAIL}
    assert non_mail == {
        "Calendar",
        "Calendar/Birthdays",
        "Calendar/United States holidays",
        "Contacts",
        "Contacts/Recipient Cache",
        "Tasks",
        "Notes",
        "Journal",
        "Sync Issues",
        "Sync Issues/Conflicts",
        "Sync Issues/Local Failures",
    }
    birthdays = next(s for s in plan.skipped if s.source_name == "Calendar/Birthdays")
    assert birthdays.detail == "Calendar"
    outbox = plan.mapping_for("Outbox")
    assert outbox is not None and outbox.special_use is SpecialUse.OUTBOX
    assert outbox.note is not None and "no Outbox folder" in outbox.note
    smith = plan.mapping_for("Customers/Mr. Smith")
    assert smith is not None and smith.target_path == ("Customers", "Mr\u2024 Smith")
    assert smith.note is not None and "delimiter" in smith.note


def test_courier_inbox_prefix_is_stripped() -> None:
    source = folders(
        ".",
        "INBOX",
        "INBOX.Sent",
        "INBOX.Trash",
        "INBOX.Drafts",
        "INBOX.Projects",
        "INBOX.Projects.Alpha",
    )
    plan = plan_folders(source, SLASH, FolderOptions())
    assert targets(plan) == {
        "INBOX": "INBOX",
        "INBOX.Sent": "Sent",
        "INBOX.Trash": "Trash",
        "INBOX.Drafts": "Drafts",
        "INBOX.Projects": "Projects",
        "INBOX.Projects.Alpha": "Projects/Alpha",
    }
    sent = plan.mapping_for("INBOX.Sent")
    assert sent is not None and sent.special_use is SpecialUse.SENT


def test_explicit_namespace_prefix_is_stripped() -> None:
    source = folders(".", "INBOX", "INBOX.Clients", "INBOX.Clients.Acme")
    plan = plan_folders(source, SLASH, FolderOptions(personal_prefix="INBOX."))
    assert targets(plan) == {
        "INBOX": "INBOX",
        "INBOX.Clients": "Clients",
        "INBOX.Clients.Acme": "Clients/Acme",
    }


def test_lone_inbox_subfolder_is_not_taken_for_a_prefix() -> None:
    source = folders("/", "INBOX", "INBOX/Receipts")
    plan = plan_folders(source, DOVECOT, FolderOptions())
    assert targets(plan) == {"INBOX": "INBOX", "INBOX/Receipts": "INBOX.Receipts"}


def test_empty_personal_prefix_turns_detection_off() -> None:
    source = folders(".", "INBOX", "INBOX.Sent", "INBOX.Work")
    plan = plan_folders(source, SLASH, FolderOptions(personal_prefix=""))
    assert targets(plan) == {
        "INBOX": "INBOX",
        "INBOX.Sent": "INBOX/Sent",
        "INBOX.Work": "INBOX/Work",
    }


def test_gmail_listing() -> None:
    source = folders(
        "/",
        "INBOX",
        ("[Gmail]", ("\\HasChildren", "\\Noselect")),
        ("[Gmail]/All Mail", ("\\All", "\\HasNoChildren")),
        ("[Gmail]/Drafts", ("\\Drafts", "\\HasNoChildren")),
        ("[Gmail]/Important", ("\\HasNoChildren", "\\Important")),
        ("[Gmail]/Sent Mail", ("\\HasNoChildren", "\\Sent")),
        ("[Gmail]/Spam", ("\\HasNoChildren", "\\Junk")),
        ("[Gmail]/Starred", ("\\Flagged", "\\HasNoChildren")),
        ("[Gmail]/Trash", ("\\HasNoChildren", "\\Trash")),
        "Receipts",
    )
    plan = plan_folders(source, DOVECOT, FolderOptions())
    assert targets(plan) == {
        "INBOX": "INBOX",
        "[Gmail]/Drafts": "Drafts",
        "[Gmail]/Important": "[Gmail].Important",
        "[Gmail]/Sent Mail": "Sent",
        "[Gmail]/Spam": "Junk",
        "[Gmail]/Starred": "[Gmail].Starred",
        "[Gmail]/Trash": "Trash",
        "Receipts": "Receipts",
    }
    assert skips(plan) == {
        "[Gmail]": SkipReason.NOT_SELECTABLE,
        "[Gmail]/All Mail": SkipReason.ALL_MAIL,
    }


def test_gmail_all_mail_on_request() -> None:
    source = folders("/", "INBOX", ("[Gmail]", ("\\Noselect",)), ("[Gmail]/All Mail", ("\\All",)))
    plan = plan_folders(source, DOVECOT, FolderOptions(migrate_all_mail=True))
    assert targets(plan)["[Gmail]/All Mail"] == "[Gmail].All Mail"


def test_danish_server_with_mutf7_decoded_names() -> None:
    source = folders(
        "/",
        "INBOX",
        "Sendt post",
        "Slettet post",
        "Kladder",
        "Uønsket e-mail",
        "Indbakke",
        "Indbakke/Æbler",
        "Økonomi & Løn",
    )
    plan = plan_folders(source, DOVECOT, FolderOptions())
    assert targets(plan) == {
        "INBOX": "INBOX",
        "Sendt post": "Sent",
        "Slettet post": "Trash",
        "Kladder": "Drafts",
        "Uønsket e-mail": "Junk",
        "Indbakke": "Indbakke",
        "Indbakke/Æbler": "Indbakke.Æbler",
        "Økonomi & Løn": "Økonomi & Løn",
    }


def test_exchange_target_names_and_case_insensitivity() -> None:
    source = folders(".", "INBOX", ("Sent", ("\\Sent",)), "Trash", "Spam", "work", "Work")
    plan = plan_folders(source, EXCHANGE_TARGET, FolderOptions())
    assert targets(plan) == {
        "INBOX": "INBOX",
        "Sent": "Sent Items",
        "Trash": "Deleted Items",
        "Spam": "Junk Email",
        "Work": "Work",
        "work": "work (2)",
    }
    renamed = plan.mapping_for("work")
    assert renamed is not None and renamed.note is not None and "'Work'" in renamed.note


def test_flat_server_without_delimiter() -> None:
    source = folders(None, "INBOX", "a/b", "c.d")
    plan = plan_folders(source, SLASH, FolderOptions())
    assert targets(plan) == {"INBOX": "INBOX", "a/b": "a\u2215b", "c.d": "c.d"}


def test_special_folder_children_move_with_it() -> None:
    source = folders("/", "INBOX", "Sent Items", "Sent Items/2019", "Sent Items/2019/Q4")
    plan = plan_folders(source, DOVECOT, FolderOptions())
    assert targets(plan) == {
        "INBOX": "INBOX",
        "Sent Items": "Sent",
        "Sent Items/2019": "Sent.2019",
        "Sent Items/2019/Q4": "Sent.2019.Q4",
    }


def test_target_special_folder_inside_inbox() -> None:
    courier_target = TargetLayout(
        ".",
        special_folders={SpecialUse.SENT: "INBOX.Sent", SpecialUse.TRASH: "INBOX.Trash"},
    )
    source = folders("/", "INBOX", "Sent Items", "Deleted Items", "Projects")
    plan = plan_folders(source, courier_target, FolderOptions())
    assert targets(plan) == {
        "INBOX": "INBOX",
        "Sent Items": "INBOX.Sent",
        "Deleted Items": "INBOX.Trash",
        "Projects": "Projects",
    }
    assert plan.mappings[0].source_name == "INBOX"


def test_default_target_special_folders_are_dovecots() -> None:
    assert dict(TargetLayout("/").special_folders) == dict(DEFAULT_TARGET_SPECIAL_FOLDERS)
    assert DEFAULT_TARGET_SPECIAL_FOLDERS[SpecialUse.SENT] == "Sent"


def test_courier_folder_named_inbox_inside_the_prefix() -> None:
    source = folders(".", "INBOX", "INBOX.INBOX", "INBOX.Sent", "Work", "INBOX.Work")
    plan = plan_folders(source, SLASH, FolderOptions(personal_prefix="INBOX."))
    assert targets(plan) == {
        "INBOX": "INBOX",
        "INBOX.INBOX": "INBOX (2)",  # a user folder, not the INBOX
        "INBOX.Sent": "Sent",
        "INBOX.Work": "Work",
        "Work": "Work (2)",  # outside the namespace prefix: kept, after the prefixed one
    }
    clash = plan.mapping_for("Work")
    assert clash is not None and clash.notes == ("the name is taken by 'INBOX.Work': numbered (2)",)
    assert plan.mapping_for("Nope") is None


def test_target_without_special_folders_keeps_names() -> None:
    source = folders("/", "INBOX", ("Sent", ("\\Sent",)), "Junk")
    plan = plan_folders(source, TargetLayout(".", special_folders={}), FolderOptions())
    assert targets(plan) == {"INBOX": "INBOX", "Sent": "Sent", "Junk": "Junk"}
    junk = plan.mapping_for("Junk")
    assert junk is not None and junk.special_use is SpecialUse.JUNK
    assert junk.note == "the target has no JunkEmail folder: kept its own name"
