"""Hostile and impossible folder names: renamed predictably, never dropped, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailferry.engine.folder_names import (
    clean_component,
    encoded_length,
    mutf7_length,
    truncate,
    with_suffix,
)
from mailferry.engine.folders import (
    FolderOptions,
    FolderPlan,
    SourceFolder,
    TargetLayout,
    plan_folders,
)
from mailferry.imap import mutf7

DOT = "\u2024"
SLASH = "\u2215"
MAILDIR = TargetLayout(".", forbidden_characters="/", max_name_bytes=254)


@pytest.mark.parametrize(
    ("name", "delimiter", "forbidden", "expected"),
    [
        ("Work", ".", "", "Work"),
        ("Mr. Smith", ".", "", f"Mr{DOT} Smith"),
        ("a/b", "/", "", f"a{SLASH}b"),
        ("a/b.c", ".", "/", f"a{SLASH}b{DOT}c"),
        ("back\\slash", "\\", "", "back\u29f5slash"),
        ("a:b", ":", "", "a_b"),
        ("", "/", "", "_"),
        ("   ", "/", "", "_"),
        (".", "/", "", DOT),
        ("..", "/", "", DOT * 2),
        ("..", ".", "", DOT * 2),
        ("...", "/", "", "..."),
        ("nul\x00here", "/", "", "nul_here"),
        ("tab\tand\x7fdel\x85", "/", "", "tab_and_del_"),
        ("line\u2028sep", "/", "", "line_sep"),
        ("lone\udc80surrogate", "/", "", "lone_surrogate"),
        ("Økonomi & Løn", "/", "", "Økonomi & Løn"),
    ],
)
def test_clean_component(name: str, delimiter: str, forbidden: str, expected: str) -> None:
    cleaned, notes = clean_component(name, delimiter, forbidden)
    assert cleaned == expected
    assert bool(notes) == (cleaned != name)


@given(st.text())
def test_mutf7_length_matches_the_encoder(text: str) -> None:
    clean = "".join(c for c in text if not "\ud800" <= c <= "\udfff")
    assert mutf7_length(clean) == len(mutf7.encode(clean))


@given(st.text(), st.integers(min_value=1, max_value=80))
def test_truncate_is_the_longest_fitting_prefix(text: str, limit: int) -> None:
    fitting = max(n for n in range(len(text) + 1) if encoded_length(text[:n]) <= limit)
    expected = text if fitting == len(text) else (text[:fitting].rstrip() or "_")
    assert truncate(text, limit) == expected


def test_with_suffix_fits_the_limit() -> None:
    assert with_suffix("Work", 2, 255) == "Work (2)"
    long = "é" * 300
    numbered = with_suffix(long, 12, 255)
    assert numbered.endswith(" (12)") and encoded_length(numbered) <= 255


def names(plan: FolderPlan) -> dict[str, str]:
    return {m.source_name: m.target_name for m in plan.mappings}


def test_hostile_components_are_renamed_and_reported() -> None:
    source = [
        SourceFolder("INBOX", "/"),
        SourceFolder("../etc", "/"),
        SourceFolder("a//b", "/"),
        SourceFolder("bell\x07", "/"),
        SourceFolder("x/./y", "/"),
    ]
    plan = plan_folders(source, MAILDIR, FolderOptions())
    assert names(plan) == {
        "INBOX": "INBOX",
        "../etc": f"{DOT * 2}.etc",
        "a//b": "a._.b",
        "bell\x07": "bell_",
        "x/./y": f"x.{DOT}.y",
    }
    for mapping in plan.mappings:
        assert ".." not in mapping.target_path and "" not in mapping.target_path
        assert "/" not in mapping.target_name
    bell = plan.mapping_for("bell\x07")
    assert bell is not None and bell.note == "control characters replaced with '_'"
    unlisted = plan.mapping_for("a//b")  # its unlisted parent "a/" was renamed: said here
    assert unlisted is not None
    assert unlisted.notes == ("parent level 'a/' renamed: empty or blank name replaced with '_'",)


def test_long_component_is_cut_and_collisions_numbered() -> None:
    base = "Ä" * 200
    source = [SourceFolder(base + "1", "/"), SourceFolder(base + "2", "/")]
    plan = plan_folders(source, TargetLayout("."), FolderOptions())
    first, second = (plan.mapping_for(f.name) for f in source)
    assert first is not None and second is not None
    assert encoded_length(first.target_name) <= 255 and encoded_length(second.target_name) <= 255
    assert second.target_name.endswith(" (2)")
    assert first.target_name == truncate(base, 255)
    assert second.note is not None and "shortened" in second.note and "numbered" in second.note


def test_maildir_name_limit_moves_deep_long_folders_up() -> None:
    levels = ["x" * 100] * 4
    source = [SourceFolder("/".join(levels[:n]), "/") for n in range(1, 5)]
    plan = plan_folders(source, MAILDIR, FolderOptions())
    assert len(plan.mappings) == 4
    assert len({m.target_name for m in plan.mappings}) == 4
    for mapping in plan.mappings:
        assert encoded_length(mapping.target_name) <= 254
    deepest = plan.mapping_for("/".join(levels))
    assert deepest is not None and "moved up" in (deepest.note or "")


@pytest.mark.timeout(20)
@pytest.mark.parametrize("listed", ["every level", "deepest only"])
def test_thousand_deep_hierarchy(listed: str) -> None:
    chain = ["/".join(["level"] * depth) for depth in range(1, 1001)]
    chosen = chain if listed == "every level" else chain[-1:]
    target = TargetLayout(".", max_depth=50)
    plan = plan_folders([SourceFolder(n, "/") for n in chosen], target, FolderOptions())
    assert {m.source_name for m in plan.mappings} == set(chosen)
    assert len({m.target_name for m in plan.mappings}) == len(chosen)
    for mapping in plan.mappings:
        assert len(mapping.target_path) <= 50
        assert all(encoded_length(part) <= 255 for part in mapping.target_path)
        assert encoded_length(mapping.target_name) <= 4096
    if listed == "every level":
        shallow = plan.mapping_for(chain[9])
        assert shallow is not None and shallow.target_path == ("level",) * 10
    deepest = plan.mapping_for(chain[-1])
    assert deepest is not None and deepest.target_path[:49] == ("level",) * 49
    assert deepest.target_path[49].startswith(f"level{DOT}level{DOT}")


def test_target_layout_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="one character"):
        TargetLayout("::")
    with pytest.raises(ValueError, match="too small"):
        TargetLayout("/", max_component_bytes=8)
    with pytest.raises(ValueError, match="max_depth"):
        TargetLayout("/", max_depth=0)
