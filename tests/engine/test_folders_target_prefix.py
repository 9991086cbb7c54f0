"""A target whose personal namespace has a prefix (``INBOX.``, Courier's layout): every
folder but INBOX is placed under it, and its special folders are found under it."""

from __future__ import annotations

import pytest

from mailferry.engine.folders import (
    FolderOptions,
    SourceFolder,
    SpecialUse,
    TargetLayout,
    plan_folders,
)
from mailferry.engine.sync import target_special_folders
from mailferry.stores.base import FolderListing

COURIER = TargetLayout(".", personal_prefix="INBOX.")


def folders(*names: str, delimiter: str = "/") -> list[SourceFolder]:
    return [SourceFolder(name, delimiter) for name in names]


def targets(
    layout: TargetLayout, source: list[SourceFolder], options: FolderOptions | None = None
) -> dict[str, str]:
    plan = plan_folders(source, layout, options or FolderOptions())
    for mapping in plan.mappings:
        assert layout.delimiter.join(mapping.target_path) == mapping.target_name
    return {m.source_name: m.target_name for m in plan.mappings}


def test_everything_but_inbox_goes_under_the_prefix() -> None:
    source = folders("INBOX", "Archive", "Archive/2020", "Sent", "Økonomi & Løn", "A/B/C")
    assert targets(COURIER, source) == {
        "INBOX": "INBOX",
        "Archive": "INBOX.Archive",
        "Archive/2020": "INBOX.Archive.2020",
        "Sent": "INBOX.Sent",
        "Økonomi & Løn": "INBOX.Økonomi & Løn",
        "A/B/C": "INBOX.A.B.C",
    }


def test_without_a_prefix_nothing_moves() -> None:
    source = folders("INBOX", "Archive", "Archive/2020", "Sent", "INBOX/Sub")
    plain = targets(TargetLayout("."), source)
    assert plain == targets(TargetLayout(".", personal_prefix=""), source)
    assert plain == {
        "INBOX": "INBOX",
        "Archive": "Archive",
        "Archive/2020": "Archive.2020",
        "Sent": "Sent",
        "INBOX/Sub": "INBOX.Sub",
    }


def test_the_targets_special_folders_are_named_inside_the_prefix() -> None:
    layout = TargetLayout(
        ".", personal_prefix="INBOX.", special_folders={SpecialUse.SENT: "Sent Items"}
    )
    source = [SourceFolder("Gesendet", "/"), SourceFolder("Mine", "/", ("\\Trash",))]
    assert targets(layout, source) == {"Gesendet": "INBOX.Sent Items", "Mine": "INBOX.Mine"}


def test_a_courier_source_keeps_its_names_on_a_courier_target() -> None:
    source = folders("INBOX", "INBOX.Sent", "INBOX.Work", "INBOX.Work.2020", delimiter=".")
    assert targets(COURIER, source, FolderOptions(personal_prefix="INBOX.")) == {
        "INBOX": "INBOX",
        "INBOX.Sent": "INBOX.Sent",
        "INBOX.Work": "INBOX.Work",
        "INBOX.Work.2020": "INBOX.Work.2020",
    }


def test_an_inbox_subfolder_and_a_top_folder_of_one_name_do_not_share_a_folder() -> None:
    plan = plan_folders(folders("INBOX", "Projects", "INBOX/Projects"), COURIER, FolderOptions())
    found = {m.source_name: m for m in plan.mappings}
    assert found["Projects"].target_name == "INBOX.Projects"
    assert found["INBOX/Projects"].target_name == "INBOX.Projects (2)"
    assert "numbered (2)" in (found["INBOX/Projects"].note or "")


def test_a_deep_tree_is_flattened_below_the_prefix_never_above_it() -> None:
    layout = TargetLayout(".", personal_prefix="INBOX.", max_depth=3)
    chain = ["/".join(f"L{n}" for n in range(1, depth + 1)) for depth in range(1, 7)]
    names = targets(layout, folders("INBOX", *chain))
    assert len(set(names.values())) == len(names)
    for source_name, name in names.items():
        if source_name != "INBOX":
            assert name.startswith("INBOX.L1") and len(name.split(".")) <= 3, name


def test_target_special_folders_are_found_under_the_prefix() -> None:
    listed = [
        FolderListing("INBOX", ".", ("\\HasChildren",)),
        FolderListing("INBOX.Sent", ".", ("\\Sent",)),
        FolderListing("INBOX.Trash", "."),
        FolderListing("INBOX.Archive.Drafts", "."),
        FolderListing("users.bob.Junk", ".", ("\\Junk",)),
    ]
    found = target_special_folders(listed, ".", "INBOX.")
    assert found == {SpecialUse.SENT: "Sent", SpecialUse.TRASH: "Trash"}
    unprefixed = target_special_folders(listed, ".")
    assert unprefixed[SpecialUse.SENT] == "INBOX.Sent" and SpecialUse.TRASH not in unprefixed


@pytest.mark.parametrize(
    ("prefix", "max_depth"), [("INBOX", 64), ("INBOX..", 64), (".", 64), ("INBOX.", 1)]
)
def test_a_prefix_the_layout_cannot_use_is_refused(prefix: str, max_depth: int) -> None:
    with pytest.raises(ValueError, match="prefix"):
        TargetLayout(".", personal_prefix=prefix, max_depth=max_depth)


def test_prefix_path() -> None:
    assert COURIER.prefix_path == ("INBOX",)
    assert TargetLayout("/", personal_prefix="#mail/").prefix_path == ("#mail",)
    assert TargetLayout("/").prefix_path == ()
