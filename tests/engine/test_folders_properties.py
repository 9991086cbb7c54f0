"""Invariants of plan_folders over random listings, targets and options (Hypothesis)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.engine.folder_names import encoded_length
from mailferry.engine.folders import (
    FolderOptions,
    FolderPlan,
    SourceFolder,
    SpecialUse,
    TargetLayout,
    plan_folders,
)

COMPONENTS = st.sampled_from(
    [
        "INBOX", "inbox", "Sent", "sent", "Sent Items", "Trash", "Deleted Items", "Spam",
        "Kladder", "Archive", "Calendar", "Contacts", "Tasks", "Notes", "a", "A", "b",
        "x.y", "x/y", "", " ", ".", "..", "Æbler", "nul\x00", "users", "u", "U",
        "#Notes#", "é" * 130, "a" * 300,
    ]
)  # fmt: skip
ATTRIBUTES = st.sampled_from(
    [(), (), (), ("\\Noselect",), ("\\NonExistent",), ("\\Sent",), ("\\Trash",), ("\\All",)]
)
SPECIALS = st.sampled_from(
    [
        {},
        {SpecialUse.SENT: "Sent", SpecialUse.TRASH: "Trash", SpecialUse.JUNK: "Junk"},
        {SpecialUse.SENT: "Sent Items", SpecialUse.TRASH: "Deleted Items"},
        {SpecialUse.SENT: "INBOX|Sent", SpecialUse.DRAFTS: "INBOX|Drafts"},
    ]
)
FILTERS = st.lists(
    st.sampled_from(["Sent", "a/b", "A", "#Inbox#", "#SentItems#", "#Root#", "x.y/*", "users"]),
    max_size=2,
)


@st.composite
def listings(draw: st.DrawFn) -> list[SourceFolder]:
    delimiter = draw(st.sampled_from([".", "/", None]))
    paths = draw(st.lists(st.lists(COMPONENTS, min_size=1, max_size=7), max_size=14))
    joiner = delimiter or "/"
    return [SourceFolder(joiner.join(p), delimiter, draw(ATTRIBUTES)) for p in paths]


@st.composite
def targets(draw: st.DrawFn) -> TargetLayout:
    delimiter = draw(st.sampled_from([".", "/"]))
    specials = {k: v.replace("|", delimiter) for k, v in draw(SPECIALS).items()}
    return TargetLayout(
        delimiter,
        specials,
        case_insensitive=draw(st.booleans()),
        forbidden_characters=draw(st.sampled_from(["", "/", "/*%"])),
        max_component_bytes=draw(st.integers(32, 255)),
        max_name_bytes=draw(st.integers(32, 400)),
        max_depth=draw(st.integers(1, 6)),
    )


OPTIONS = st.builds(
    FolderOptions,
    user_root=st.sampled_from([None, None, "/users/u", "users"]),
    personal_prefix=st.sampled_from([None, "", "INBOX."]),
    include=FILTERS.map(tuple),
    exclude=FILTERS.map(tuple),
    exchange_source=st.sampled_from([None, True, False]),
    migrate_all_mail=st.booleans(),
)


def in_scope(source: list[SourceFolder], user_root: str | None) -> set[str]:
    """The oracle for UserRoot: at or under the root, exactly, else without case."""
    if user_root is None:
        return {f.name for f in source}

    def parts(folder: SourceFolder) -> list[str]:
        return folder.name.split(folder.delimiter) if folder.delimiter else [folder.name]

    def root(folder: SourceFolder) -> list[str]:
        text = user_root.replace(folder.delimiter, "/") if folder.delimiter else user_root
        return [p for p in text.split("/") if p]

    exact = {f.name for f in source if parts(f)[: len(root(f))] == root(f)}
    if exact:
        return exact
    folded = [(f, [p.casefold() for p in root(f)]) for f in source]
    return {f.name for f, r in folded if [p.casefold() for p in parts(f)][: len(r)] == r}


def key(path: tuple[str, ...], target: TargetLayout) -> tuple[str, ...]:
    parts = ["INBOX" if i == 0 and p.casefold() == "inbox" else p for i, p in enumerate(path)]
    if target.case_insensitive:
        parts = [unicodedata.normalize("NFC", p).casefold() for p in parts]
    return tuple(parts)


@settings(max_examples=200, deadline=None)
@given(listings(), targets(), OPTIONS)
def test_invariants(
    source: list[SourceFolder], target: TargetLayout, options: FolderOptions
) -> None:
    plan = plan_folders(source, target, options)
    mapped = [m.source_name for m in plan.mappings]
    skipped = [s.source_name for s in plan.skipped]
    # every in-scope folder is mapped or skipped, exactly once; nothing else appears
    assert len(set(mapped)) == len(mapped) and len(set(skipped)) == len(skipped)
    assert not set(mapped) & set(skipped)
    assert set(mapped) | set(skipped) == in_scope(source, options.user_root)
    # no two folders share a target folder
    keys = [key(m.target_path, target) for m in plan.mappings]
    assert len(set(keys)) == len(keys)
    for mapping in plan.mappings:
        assert_valid(mapping.target_name, mapping.target_path, target)
    assert_parents_first(plan)


def assert_valid(name: str, path: tuple[str, ...], target: TargetLayout) -> None:
    assert name == target.delimiter.join(path)
    assert 1 <= len(path) <= max(target.max_depth, 2)  # a special folder may sit deeper
    for part in path:
        assert part.strip() and part not in (".", "..")
        assert target.delimiter not in part
        assert not any(unicodedata.category(c) == "Cc" for c in part)
    if path[0] != "INBOX" or len(path) > 1:
        assert all(encoded_length(part) <= target.max_component_bytes for part in path)
        assert encoded_length(name) <= target.max_name_bytes
        assert not any(c in part for part in path for c in target.forbidden_characters)


def assert_parents_first(plan: FolderPlan) -> None:
    seen: set[tuple[str, ...]] = set()
    for mapping in plan.mappings:
        path = mapping.target_path
        for other in seen:
            assert other[: len(path)] != path or len(other) <= len(path)
        seen.add(path)


@settings(max_examples=100, deadline=None)
@given(listings(), targets(), OPTIONS, st.randoms(use_true_random=False))
def test_input_order_does_not_matter(
    source: list[SourceFolder], target: TargetLayout, options: FolderOptions, rnd: object
) -> None:
    shuffled = list(source)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert plan_folders(shuffled, target, options) == plan_folders(source, target, options)


@settings(max_examples=100, deadline=None)
@given(listings(), targets())
def test_special_folders_land_on_the_targets(
    source: list[SourceFolder], target: TargetLayout
) -> None:
    plan = plan_folders(source, target, FolderOptions())
    for mapping in plan.mappings:
        kind = mapping.special_use
        if kind is SpecialUse.INBOX:
            assert mapping.target_name == "INBOX"
        elif kind is not None and kind in target.special_folders:
            assert mapping.target_name == target.special_folders[kind]
    kinds = [m.special_use for m in plan.mappings if m.special_use is not None]
    assert len(kinds) == len(set(kinds))
