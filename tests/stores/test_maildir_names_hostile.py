"""Every source folder gets a distinct Maildir++ directory that Dovecot 2.3 serves.

The folder mapper with the Maildir layout (``MaildirLayout``) against hostile names:
unicode, separators, very long, very deep, a leading ``~`` or ``.``, reserved-looking
words, near-collisions. ``dovecot_refuses`` is written here from Dovecot 2.3.19's
sources, apart from the product's own check (``maildir_names.dirname_problem``), and
both must accept every directory the mapper asks for. tests/integration/
test_hostile_folder_names.py runs the same kind of names through a real Dovecot.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.engine.folder_placement import MaildirLayout
from mailferry.engine.folders import FolderOptions, FolderPlan, SkipReason, SourceFolder
from mailferry.engine.folders import plan_folders as plan
from mailferry.imap import mutf7
from mailferry.stores.maildir_names import (
    dirname_problem,
    folder_dirname,
    folder_from_dirname,
    hash_suffix,
    parents,
    shortened,
)
from mailferry.stores.maildir_target import MaildirTarget

MAILDIR = MaildirLayout()
HASHED = r"~[0-9a-f]{8}"


def dovecot_refuses(dirname: str) -> str | None:
    """Why Dovecot 2.3 would not list and select ``dirname`` as a Maildir++ folder.

    From mailbox-list-maildir-iter.c, mailbox-list.c (mailbox_list_is_valid_fs_name)
    and mail-storage.c (mailbox_verify_create_name): one directory entry (NAME_MAX
    255 bytes, no ``/`` or NUL), ``.`` then the storage name, which does not start
    with ``~``, has no empty level, and decodes from canonical modified UTF-7 (else
    Dovecot renames the directory) to text without control characters.
    """
    raw = dirname.encode("utf-8", "surrogatepass")
    if len(raw) > 255 or b"/" in raw or b"\0" in raw:
        return "not one directory entry"
    if not dirname.startswith(".") or dirname in (".", ".."):
        return "not a Maildir++ folder directory"
    storage = dirname[1:]
    if storage.startswith("~"):
        return "begins with '~'"
    levels = storage.split(".")
    if "" in levels:
        return "an empty level"
    for level in levels:
        text = _decode_mutf7(level)
        if text is None or mutf7.encode(text).decode("ascii") != level:
            return f"{level!r} is not canonical modified UTF-7"
        if any(ord(char) < 0x20 for char in text):
            return "a control character"
    if len(levels) == 1 and levels[0].upper() == "INBOX":
        return "a second INBOX"
    return None


def _decode_mutf7(level: str) -> str | None:
    """RFC 3501 §5.1.3, decoded with the standard library's base64 and UTF-16."""
    out, pos = [], 0
    while pos < len(level):
        char = level[pos]
        if not " " <= char <= "~":
            return None
        if char != "&":
            out.append(char)
            pos += 1
            continue
        end = level.find("-", pos)
        if end < 0:
            return None
        b64 = level[pos + 1 : end].replace(",", "/")
        if b64:
            try:
                data = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
                out.append(data.decode("utf-16-be"))
            except (binascii.Error, UnicodeDecodeError):
                return None
        else:
            out.append("&")
        pos = end + 1
    return "".join(out)


def check_plan(names: Sequence[str], result: FolderPlan) -> dict[str, str]:
    """Every name migrates (or is the duplicate of another), to its own valid directory."""
    mapped = {m.source_name: m.target_name for m in result.mappings}
    duplicates = {s.source_name for s in result.skipped if s.reason is SkipReason.DUPLICATE}
    assert all(s.reason is SkipReason.DUPLICATE for s in result.skipped), result.skipped
    assert set(mapped) | duplicates == set(names)
    assert len(set(mapped.values())) == len(mapped), "two folders share a target"
    created = {p for target in mapped.values() for p in parents(target)} | set(mapped.values())
    for name in created:  # what ensure_folder creates
        dirname = folder_dirname(name)
        if dirname is None:
            assert name == "INBOX"
            continue
        assert dovecot_refuses(dirname) is None, (name, dirname)
        assert dirname_problem(dirname) is None, (name, dirname)
        assert folder_from_dirname(dirname) == name
    return mapped


# -- the reproduced cases ---------------------------------------------------------------


def test_a_200_deep_hierarchy_keeps_every_level() -> None:
    chain = ["/".join(f"level{n}" for n in range(depth)) for depth in range(1, 201)]
    result = plan([SourceFolder(n, "/") for n in chain], MAILDIR, FolderOptions())
    mapped = check_plan(chain, result)
    assert mapped[chain[9]] == ".".join(f"level{n}" for n in range(10))  # fits: as it is
    deepest = result.mapping_for(chain[-1])
    assert deepest is not None and deepest.note is not None
    assert "moved up" in deepest.note and "255 bytes on disk" in deepest.note
    assert deepest.target_name.endswith(hash_suffix(tuple(chain[-1].split("/"))))
    assert "level199" in deepest.target_name  # the folder's own name stays readable


def test_a_300_character_name_is_shortened_with_the_leading_dot_counted() -> None:
    names = ["INBOX", "x" * 300, "y" * 254, "z" * 255]
    result = plan([SourceFolder(n, "/") for n in names], MAILDIR, FolderOptions())
    mapped = check_plan(names, result)
    assert mapped["y" * 254] == "y" * 254  # 255 bytes with the dot: kept
    for long in ("x" * 300, "z" * 255):
        dirname = folder_dirname(mapped[long])
        assert dirname is not None and 250 <= len(dirname) <= 255
        assert mapped[long].endswith(hash_suffix((long,)))
        mapping = result.mapping_for(long)
        assert mapping is not None and "shortened" in (mapping.note or "")


def test_a_leading_tilde_is_replaced_only_at_the_top() -> None:
    names = ["~home", "~home/~sub", "Work/~draft", "~"]
    result = plan([SourceFolder(n, "/") for n in names], MAILDIR, FolderOptions())
    mapped = check_plan(names, result)
    assert mapped == {
        "~home": "\u223chome",
        "~home/~sub": "\u223chome.~sub",
        "Work/~draft": "Work.~draft",
        "~": "\u223c",
    }
    home = result.mapping_for("~home")
    assert home is not None and "refuses a name starting with '~'" in (home.note or "")


def test_names_that_fit_keep_their_name() -> None:
    """What Dovecot named before (tests/stores/test_maildir_names.py) is not renamed, and
    lengths are those on disk: 90 CJK characters are 270 UTF-8 bytes but 242 on disk."""
    names = ["Økonomi & Løn", "a.~b", "star*", " lead", "new", "tmp", "cur", "dovecot-uidlist",
             "courierimapsubscribed", "maildirfolder", "subscriptions", "DOVECOT-TRASHED",
             "INBOX", "INBOX.Sub", "客" * 90]  # fmt: skip
    result = plan([SourceFolder(n, ".") for n in names], MAILDIR, FolderOptions())
    assert check_plan(names, result) == {n: n for n in names}
    assert all(m.note is None for m in result.mappings)


def test_a_clash_after_rewriting_gets_a_suffix_of_its_own() -> None:
    dot = "\u2024"
    names = ["a.b", f"a{dot}b"]  # "/" is the hierarchy: "a.b" is rewritten to "a․b"
    result = plan([SourceFolder(n, "/") for n in names], MAILDIR, FolderOptions())
    mapped = check_plan(names, result)
    assert mapped["a.b"] == f"a{dot}b"  # sorts first: keeps the name
    assert mapped[f"a{dot}b"] == f"a{dot}b" + hash_suffix((f"a{dot}b",))
    loser = result.mapping_for(f"a{dot}b")
    assert loser is not None and "taken by 'a.b'" in (loser.note or "")
    more = plan([SourceFolder(n, "/") for n in [*names, "a/b"]], MAILDIR, FolderOptions())
    assert check_plan([*names, "a/b"], more)[f"a{dot}b"] == mapped[f"a{dot}b"]


def test_a_clash_where_no_suffix_fits_moves_the_folder_up() -> None:
    parent = "p" * 200  # 53 bytes left below it: "a․b" fits, "a․b~…" with a suffix too, but
    names = [parent, f"{parent}/a.b", f"{parent}/a\u2024b"]  # a moved-up folder needs 64
    result = plan([SourceFolder(n, "/") for n in names], MAILDIR, FolderOptions())
    mapped = check_plan(names, result)
    assert mapped[f"{parent}/a.b"] == f"{parent}.a\u2024b"
    moved = result.mapping_for(f"{parent}/a\u2024b")
    assert moved is not None and len(moved.target_path) == 1  # at the top
    assert moved.target_name.startswith("p") and moved.target_name.endswith("a\u2024b")
    assert "taken by" in (moved.note or "") and "moved up 1 level" in (moved.note or "")


def test_long_inbox_children_fit_with_the_inbox_level() -> None:
    names = ["INBOX", "INBOX/" + "q" * 260, "INBOX/" + "q" * 248]
    mapped = check_plan(
        names, plan([SourceFolder(n, "/") for n in names], MAILDIR, FolderOptions())
    )
    assert mapped["INBOX/" + "q" * 248] == "INBOX." + "q" * 248  # 255 bytes on disk
    assert mapped["INBOX/" + "q" * 260].startswith("INBOX.q")


# -- generated ----------------------------------------------------------------------------

ATOMS = [
    "", " ", ".", "..", "...", "~", "~home", "\u223chome", "~~", ".hidden", "a.b", "a\u2024b",
    "a/b", "a\\b", "tmp", "new", "cur", "INBOX", "inbox", "Inbox", "dovecot-uidlist",
    "dovecot.index", "courierimapuiddb", "maildirfolder", "DOVECOT-TRASHED", "&", "&-",
    "&AOk-", "\u2026", "x~0123abcd", "Sent", "Trash", "nul\0", "tab\t", "del\x7f",
    "\x85next", "line\u2028", "lone\udc80", "😀", "Økonomi & Løn", "客户", "שלום",
]  # fmt: skip
LONG = st.builds(
    lambda char, n, tail: char * n + tail,
    st.sampled_from(["x", "é", "客", "😀", "&", "~", ".", " ", "\u2024"]),
    st.integers(100, 400),
    st.sampled_from(["", "1", "2", "~", "."]),
)
COMPONENT = st.one_of(st.sampled_from(ATOMS), st.text(max_size=12), LONG)


@st.composite
def hostile_names(draw: st.DrawFn) -> list[str]:
    names = draw(st.lists(st.lists(COMPONENT, min_size=1, max_size=4), max_size=25))
    folders = {"/".join(parts) for parts in names}
    for _ in range(draw(st.integers(0, 2))):  # a deep chain, every level listed or not
        word = draw(st.sampled_from(["d", "level", "é" * 7, "~x", "."]))
        depth = draw(st.integers(40, 130))
        chain = [word + str(n) for n in range(depth)]
        listed = draw(st.sampled_from(["all", "deepest"]))
        starts = range(1, depth + 1) if listed == "all" else [depth]
        folders.update("/".join(chain[:end]) for end in starts)
    return sorted(folders)


@settings(max_examples=40, deadline=None)
@given(hostile_names(), st.randoms(use_true_random=False))
def test_hostile_names_map_to_distinct_valid_stable_directories(
    names: list[str], shuffle: random.Random
) -> None:
    folders = [SourceFolder(n, "/") for n in names]
    first = check_plan(names, plan(folders, MAILDIR, FolderOptions()))
    again = plan(folders, MAILDIR, FolderOptions())
    shuffle.shuffle(folders)
    shuffled = plan(folders, MAILDIR, FolderOptions())
    assert {m.source_name: m.target_name for m in again.mappings} == first
    assert {m.source_name: m.target_name for m in shuffled.mappings} == first
    assert shuffled.mappings == again.mappings  # notes too


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=30, max_value=260), st.sampled_from(["", "~0123abcd"]))
def test_shortened_fits_and_keeps_both_ends(text: str, limit: int, suffix: str) -> None:
    text = "".join(c for c in text if not "\ud800" <= c <= "\udfff")  # as cleaned
    result = shortened(text, limit, suffix)
    assert len(mutf7.encode(result)) <= limit and result.endswith(suffix)
    if result != text + suffix:
        assert "\u2026" in result and (not text or result[0] == text[0] or result[0] == "_")


# -- the real store -----------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_the_maildir_target_creates_and_lists_every_mapped_folder(tmp_path: Path) -> None:
    chain = ["/".join(["deep"] * depth) for depth in range(1, 70)]
    names = ["INBOX", "~home", "x" * 300, "a.b", "a\u2024b", "tmp", "INBOX/" + "i" * 300, *chain]
    result = plan([SourceFolder(n, "/") for n in names], MAILDIR, FolderOptions())
    mapped = check_plan(names, result)

    async def create_and_list() -> set[str]:
        mailbox = MaildirTarget(tmp_path).mailbox("hostile@example.org")
        try:
            for target in mapped.values():
                await mailbox.ensure_folder(target)
            return {f.name for f in await mailbox.list_folders()}
        finally:
            await mailbox.close()

    listed = asyncio.run(create_and_list())
    assert set(mapped.values()) <= listed
    on_disk = [p.name for p in (tmp_path / "hostile@example.org").iterdir() if p.is_dir()]
    assert all(dovecot_refuses(d) is None for d in on_disk if d.startswith("."))
