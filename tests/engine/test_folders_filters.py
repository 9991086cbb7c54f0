"""IncludeFolders / ExcludeFolders, UserRoot and skipped-folder reporting."""

from __future__ import annotations

import pytest

from mailferry.engine.folder_filters import FolderFilter, WellKnown, parse_filter
from mailferry.engine.folders import (
    FolderOptions,
    FolderPlan,
    SkipReason,
    SourceFolder,
    SpecialUse,
    TargetLayout,
    plan_folders,
)
from mailferry.engine.special_folders import NonMailKind

TARGET = TargetLayout("/")

MAILBOX = [
    SourceFolder("INBOX", "/"),
    SourceFolder("INBOX/Receipts", "/"),
    SourceFolder("Sent Items", "/"),
    SourceFolder("Deleted Items", "/"),
    SourceFolder("Deleted Items/Old", "/"),
    SourceFolder("Junk Email", "/"),
    SourceFolder("Projects", "/"),
    SourceFolder("Projects/FY2010", "/"),
    SourceFolder("Projects/FY2010/Q1", "/"),
    SourceFolder("Shared", "/"),
]


def mapped(plan: FolderPlan) -> set[str]:
    return {m.source_name for m in plan.mappings}


def reasons(plan: FolderPlan) -> dict[str, tuple[SkipReason, str]]:
    return {s.source_name: (s.reason, s.detail) for s in plan.skipped}


def run(**options: object) -> FolderPlan:
    return plan_folders(MAILBOX, TARGET, FolderOptions(**options))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "well_known", "path"),
    [
        ("#Inbox#", SpecialUse.INBOX, ""),
        ("#inbox#/*", SpecialUse.INBOX, ""),
        ("#SentItems#", SpecialUse.SENT, ""),
        ("#DeletedItems#", SpecialUse.TRASH, ""),
        ("#JunkEmail#", SpecialUse.JUNK, ""),
        ("#Drafts#", SpecialUse.DRAFTS, ""),
        ("#Archive#", SpecialUse.ARCHIVE, ""),
        ("#Outbox#", SpecialUse.OUTBOX, ""),
        ("#Calendar#", NonMailKind.CALENDAR, ""),
        ("#Root#", WellKnown.ROOT, ""),
        ("#AllItems#", WellKnown.ALL_ITEMS, ""),
        ("\\#Notes\\#", None, "#Notes#"),
        ("#NoSuchThing#", None, "#NoSuchThing#"),
        ("MyProjects/*", None, "MyProjects"),
        (" Deleted Items ", None, "Deleted Items"),
        ("a*b%", None, "a*b%"),
    ],
)
def test_parse_filter(text: str, well_known: object, path: str) -> None:
    assert parse_filter(text) == FolderFilter(text, well_known, path)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "   ", "/*"])
def test_blank_entries_are_ignored(text: str) -> None:
    assert parse_filter(text) is None


def test_microsoft_example_excludes_by_name_case_insensitively() -> None:
    plan = run(exclude=("deleted items", "JUNK EMAIL"))
    assert reasons(plan) == {
        "Deleted Items": (SkipReason.EXCLUDED, "deleted items"),
        "Deleted Items/Old": (SkipReason.EXCLUDED, "deleted items"),
        "Junk Email": (SkipReason.EXCLUDED, "JUNK EMAIL"),
    }
    assert plan.unmatched_filters == ()


def test_exclude_well_known_names() -> None:
    plan = run(exclude=("#DeletedItems#", "#SentItems#/*"))
    assert set(reasons(plan)) == {"Deleted Items", "Deleted Items/Old", "Sent Items"}


def test_exclude_inbox_takes_its_subfolders() -> None:
    plan = run(exclude=("#Inbox#",))
    assert set(reasons(plan)) == {"INBOX", "INBOX/Receipts"}


def test_exclude_a_subfolder_only() -> None:
    plan = run(exclude=("Projects/FY2010",))
    assert set(reasons(plan)) == {"Projects/FY2010", "Projects/FY2010/Q1"}
    assert "Projects" in mapped(plan)


def test_slash_star_means_the_same_as_the_bare_name() -> None:
    assert mapped(run(exclude=("Projects/*",))) == mapped(run(exclude=("Projects",)))


def test_include_takes_the_folder_and_its_subfolders() -> None:
    plan = run(include=("Projects",))
    assert mapped(plan) == {"Projects", "Projects/FY2010", "Projects/FY2010/Q1"}
    assert reasons(plan)["Shared"] == (SkipReason.NOT_INCLUDED, "")


def test_include_a_deep_folder_keeps_its_place() -> None:
    plan = run(include=("projects/fy2010",))
    assert mapped(plan) == {"Projects/FY2010", "Projects/FY2010/Q1"}
    deep = plan.mapping_for("Projects/FY2010")
    assert deep is not None and deep.target_name == "Projects/FY2010"
    assert reasons(plan)["Projects"] == (SkipReason.NOT_INCLUDED, "")


def test_exclude_beats_include() -> None:
    plan = run(include=("Projects",), exclude=("Projects/FY2010/Q1",))
    assert mapped(plan) == {"Projects", "Projects/FY2010"}
    assert reasons(plan)["Projects/FY2010/Q1"][0] is SkipReason.EXCLUDED


def test_include_root_takes_everything() -> None:
    assert mapped(run(include=("#Root#",))) == {f.name for f in MAILBOX}


def test_unmatched_entries_are_reported() -> None:
    plan = run(include=("#Root#", "Nope"), exclude=("#SentItems#", "#Archive#", "Nope"))
    assert plan.unmatched_filters == ("Nope", "#Archive#")


def test_source_delimiter_accepted_in_entries() -> None:
    source = [SourceFolder("INBOX", "."), SourceFolder("A", "."), SourceFolder("A.B", ".")]
    for entry in ("A.B", "A/B", "a/b/*"):
        plan = plan_folders(source, TARGET, FolderOptions(exclude=(entry,)))
        assert mapped(plan) == {"INBOX", "A"}, entry


def test_courier_entries_with_or_without_the_prefix() -> None:
    source = [
        SourceFolder("INBOX", "."),
        SourceFolder("INBOX.Sent", "."),
        SourceFolder("INBOX.Work", "."),
    ]
    for entry in ("Work", "INBOX.Work", "INBOX/Work"):
        plan = plan_folders(source, TARGET, FolderOptions(exclude=(entry,)))
        assert mapped(plan) == {"INBOX", "INBOX.Sent"}, entry
    only_inbox = plan_folders(source, TARGET, FolderOptions(exclude=("INBOX",)))
    assert mapped(only_inbox) == {"INBOX.Sent", "INBOX.Work"}  # the stripped ones are not below it


def test_literal_hash_name_is_matched_when_escaped() -> None:
    source = [SourceFolder("INBOX", "/"), SourceFolder("#Notes#", "/")]
    plan = plan_folders(source, TARGET, FolderOptions(exclude=("\\#Notes\\#",)))
    assert mapped(plan) == {"INBOX"}


def test_gmail_exclude_the_gmail_folder() -> None:
    source = [
        SourceFolder("INBOX", "/"),
        SourceFolder("[Gmail]", "/", ("\\Noselect",)),
        SourceFolder("[Gmail]/Sent Mail", "/", ("\\Sent",)),
        SourceFolder("[Gmail]/Starred", "/", ("\\Flagged",)),
        SourceFolder("Label", "/"),
    ]
    plan = plan_folders(source, TARGET, FolderOptions(exclude=("[Gmail]",)))
    assert mapped(plan) == {"INBOX", "Label"}
    assert reasons(plan) == {
        "[Gmail]": (SkipReason.NOT_SELECTABLE, ""),
        "[Gmail]/Sent Mail": (SkipReason.EXCLUDED, "[Gmail]"),
        "[Gmail]/Starred": (SkipReason.EXCLUDED, "[Gmail]"),
    }


def test_naming_all_mail_in_include_migrates_it() -> None:
    source = [
        SourceFolder("INBOX", "/"),
        SourceFolder("[Gmail]", "/", ("\\Noselect",)),
        SourceFolder("[Gmail]/All Mail", "/", ("\\All",)),
    ]
    by_all_items = plan_folders(source, TARGET, FolderOptions(include=("#AllItems#",)))
    assert mapped(by_all_items) == {"[Gmail]/All Mail"}
    via_parent = plan_folders(source, TARGET, FolderOptions(include=("[Gmail]",)))
    assert reasons(via_parent)["[Gmail]/All Mail"][0] is SkipReason.ALL_MAIL


def test_user_root_reroots_and_ignores_other_users() -> None:
    source = [
        SourceFolder("INBOX", "."),
        SourceFolder("users", ".", ("\\Noselect",)),
        SourceFolder("users.terry.adams", "."),
        SourceFolder("users.terry.adams.Sent", "."),
        SourceFolder("users.terry.adams.Clients", "."),
        SourceFolder("users.terry.adams.Clients.Acme", "."),
        SourceFolder("users.jane", "."),
        SourceFolder("users.jane.Sent", "."),
    ]
    plan = plan_folders(source, TARGET, FolderOptions(user_root="/users/terry.adams"))
    assert {m.source_name: m.target_name for m in plan.mappings} == {
        "users.terry.adams": "INBOX",
        "users.terry.adams.Sent": "Sent",
        "users.terry.adams.Clients": "Clients",
        "users.terry.adams.Clients.Acme": "Clients/Acme",
    }
    assert plan.skipped == ()


def test_user_root_with_an_inbox_child() -> None:
    source = [
        SourceFolder("users/terry", "/"),
        SourceFolder("users/terry/INBOX", "/"),
        SourceFolder("users/terry/Trash", "/"),
    ]
    plan = plan_folders(source, TargetLayout("."), FolderOptions(user_root="users/terry/"))
    assert {m.source_name: m.target_name for m in plan.mappings} == {
        "users/terry/INBOX": "INBOX",
        "users/terry/Trash": "Trash",
        "users/terry": "terry",
    }


def test_user_root_case_is_forgiven_only_without_an_exact_match() -> None:
    source = [SourceFolder("Users/Terry", "/"), SourceFolder("Users/Terry/Work", "/")]
    plan = plan_folders(source, TARGET, FolderOptions(user_root="/users/terry"))
    assert mapped(plan) == {"Users/Terry", "Users/Terry/Work"}
    both = [*source, SourceFolder("users/terry", "/")]
    exact = plan_folders(both, TARGET, FolderOptions(user_root="/users/terry"))
    assert mapped(exact) == {"users/terry"}


def test_user_root_courier_inbox_prefix_inside_it() -> None:
    source = [
        SourceFolder("shared.terry", ".", ("\\Noselect",)),
        SourceFolder("shared.terry.INBOX", "."),
        SourceFolder("shared.terry.INBOX.Sent", "."),
        SourceFolder("shared.terry.INBOX.Work", "."),
    ]
    plan = plan_folders(source, TARGET, FolderOptions(user_root="shared/terry"))
    assert {m.source_name: m.target_name for m in plan.mappings} == {
        "shared.terry.INBOX": "INBOX",
        "shared.terry.INBOX.Sent": "Sent",
        "shared.terry.INBOX.Work": "Work",
    }
    assert [(s.source_name, s.reason) for s in plan.skipped] == [
        ("shared.terry", SkipReason.NOT_SELECTABLE)
    ]


def test_user_root_entries_may_repeat_the_root() -> None:
    source = [SourceFolder("users/t", "/"), SourceFolder("users/t/Work", "/")]
    options = FolderOptions(user_root="/users/t", exclude=("users/t/Work",))
    assert mapped(plan_folders(source, TARGET, options)) == {"users/t"}


def test_noselect_parent_is_reported_and_children_still_migrate() -> None:
    source = [
        SourceFolder("INBOX", "/"),
        SourceFolder("Archive", "/", ("\\Noselect",)),
        SourceFolder("Archive/2020", "/"),
        SourceFolder("Ghost", "/", ("\\NonExistent", "\\Noselect")),
    ]
    plan = plan_folders(source, TargetLayout("."), FolderOptions())
    assert {m.source_name: m.target_name for m in plan.mappings} == {
        "INBOX": "INBOX",
        "Archive/2020": "Archive.2020",  # a level without mail may be the target's Archive
    }
    assert reasons(plan) == {
        "Archive": (SkipReason.NOT_SELECTABLE, ""),
        "Ghost": (SkipReason.NOT_SELECTABLE, ""),
    }


def test_non_mail_needs_an_exchange_source() -> None:
    source = [SourceFolder("INBOX", "/"), SourceFolder("Notes", "/"), SourceFolder("Tasks", "/")]
    assert mapped(plan_folders(source, TARGET, FolderOptions())) == {"INBOX", "Notes", "Tasks"}
    told = plan_folders(source, TARGET, FolderOptions(exchange_source=True))
    assert mapped(told) == {"INBOX"}
    assert reasons(told) == {
        "Notes": (SkipReason.NON_MAIL, "Notes"),
        "Tasks": (SkipReason.NON_MAIL, "Tasks"),
    }
    german = [
        SourceFolder("INBOX", "/"),
        SourceFolder("Kalender", "/"),
        SourceFolder("Kontakte", "/"),
        SourceFolder("Aufgaben", "/"),
        SourceFolder("Notizen", "/"),
    ]
    assert mapped(plan_folders(german, TARGET, FolderOptions())) == {"INBOX"}
    forced = plan_folders(german, TARGET, FolderOptions(exchange_source=False))
    assert len(forced.mappings) == 5
