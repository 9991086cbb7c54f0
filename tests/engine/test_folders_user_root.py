"""UserRoot inside a server's shared namespaces, as Courier IMAP lists them.

The listings are what the rig's real Courier answers an administrator (see
tests/integration/test_courier_source.py): ``#shared.<group>.<user>`` with a ``.`` in a
user name written as a space (or ``\\:`` under ``IMAP_SHAREDMUNGENAMES``)."""

from __future__ import annotations

from mailferry.engine.folder_scope import missing_root
from mailferry.engine.folder_types import FolderOptions, SourceFolder, TargetLayout
from mailferry.engine.folders import plan_folders

TARGET = TargetLayout("/")
COURIER_SHARED = ("#shared.", "shared.")
LISTED = [
    SourceFolder("INBOX", ".", ("\\HasNoChildren",)),  # the admin's own
    SourceFolder("#shared.users", ".", ("\\Noselect", "\\HasChildren")),
    SourceFolder("#shared.users.terry adams", ".", ("\\HasChildren",)),
    SourceFolder("#shared.users.terry adams.Sent", "."),
    SourceFolder("#shared.users.terry adams.Kunder", ".", ("\\HasChildren",)),
    SourceFolder("#shared.users.terry adams.Kunder.Syd", "."),
    SourceFolder("#shared.users.ann beebe", "."),
    SourceFolder("#shared.users.ann beebe.Privat", "."),
]


def mapped(options: FolderOptions, listed: list[SourceFolder] = LISTED) -> dict[str, str]:
    plan = plan_folders(listed, TARGET, options)
    return {m.source_name: m.target_name for m in plan.mappings}


def test_a_users_tree_under_courier_shared_folders() -> None:
    options = FolderOptions(user_root="/users/terry.adams", namespace_prefixes=COURIER_SHARED)
    assert mapped(options) == {
        "#shared.users.terry adams": "INBOX",
        "#shared.users.terry adams.Sent": "Sent",
        "#shared.users.terry adams.Kunder": "Kunder",
        "#shared.users.terry adams.Kunder.Syd": "Kunder/Syd",
    }
    other = FolderOptions(user_root="users/ann.beebe/", namespace_prefixes=COURIER_SHARED)
    assert mapped(other) == {
        "#shared.users.ann beebe": "INBOX",
        "#shared.users.ann beebe.Privat": "Privat",
    }


def test_without_the_namespace_prefixes_nothing_is_the_users() -> None:
    assert mapped(FolderOptions(user_root="/users/terry.adams")) == {}


def test_the_munged_spelling_and_a_case_typo() -> None:
    munged = [SourceFolder("#shared.users.terry\\:adams", "."), *LISTED[-2:]]
    options = FolderOptions(user_root="/users/terry.adams", namespace_prefixes=COURIER_SHARED)
    assert mapped(options, munged) == {"#shared.users.terry\\:adams": "INBOX"}
    typo = FolderOptions(user_root="/Users/Terry.Adams", namespace_prefixes=COURIER_SHARED)
    assert set(mapped(typo)) == set(mapped(options))


def test_a_folder_named_as_typed_wins_over_the_shared_spelling() -> None:
    listed = [
        *LISTED,
        SourceFolder("users.terry.adams", "."),
        SourceFolder("users.terry.adams.X", "."),
    ]
    options = FolderOptions(user_root="/users/terry.adams", namespace_prefixes=COURIER_SHARED)
    assert mapped(options, listed) == {"users.terry.adams": "INBOX", "users.terry.adams.X": "X"}


def test_filters_may_repeat_the_root_as_typed() -> None:
    options = FolderOptions(
        user_root="/users/terry.adams",
        namespace_prefixes=COURIER_SHARED,
        exclude=("users/terry.adams/Kunder", "Sent"),
    )
    assert mapped(options) == {"#shared.users.terry adams": "INBOX"}
    assert plan_folders(LISTED, TARGET, options).unmatched_filters == ()


def test_a_missing_root_names_the_nearest_level() -> None:
    why = missing_root(LISTED, "/users/terry.adam", COURIER_SHARED)
    assert why == (
        "UserRoot '/users/terry.adam' does not exist on the source: no folder is at or under it "
        "(shared namespaces searched too); the nearest level, '#shared.users', holds "
        "'#shared.users.ann beebe', '#shared.users.terry adams'"
    )
    staff = missing_root(LISTED, "/staff/x", COURIER_SHARED) or ""
    assert staff.endswith("the nearest level, '#shared', holds '#shared.users'")
    top = missing_root(LISTED, "/staff/x") or ""
    assert top.endswith("this login's top-level folders are '#shared', 'INBOX'")
    assert (missing_root([], "/users/x") or "").endswith("this login sees no folders at all")
    assert missing_root(LISTED, "/users/terry.adams", COURIER_SHARED) is None
    assert missing_root(LISTED, None) is None and missing_root(LISTED, "//") is None
