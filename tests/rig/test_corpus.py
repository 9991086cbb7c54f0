"""The corpus generator on its own: determinism, variety, sizes, malformations."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import pytest

from mailferry.rig import DEFAULT_FOLDERS, CorpusSpec, GeneratedMessage, RigError, generate
from mailferry.rig.mailgen import LONG_LINE_LENGTH, MALFORMED_KINDS

SPEC = CorpusSpec(seed=42, messages=400)


@pytest.fixture(scope="module")
def corpus() -> list[GeneratedMessage]:
    return list(generate(SPEC))


def _digest(messages: list[GeneratedMessage]) -> str:
    h = hashlib.sha256()
    for m in messages:
        h.update(m.folder.encode() + repr(m.flags).encode() + m.internaldate.isoformat().encode())
        h.update(m.data)
    return h.hexdigest()


def test_same_seed_gives_identical_bytes(corpus: list[GeneratedMessage]) -> None:
    assert _digest(list(generate(SPEC))) == _digest(corpus)


def test_other_seed_gives_other_mail(corpus: list[GeneratedMessage]) -> None:
    other = list(generate(CorpusSpec(seed=43, messages=400)))
    assert _digest(other) != _digest(corpus)
    assert {m.sha256() for m in other}.isdisjoint({m.sha256() for m in corpus})


def test_every_folder_gets_mail_and_inbox_most(corpus: list[GeneratedMessage]) -> None:
    counts = Counter(m.folder for m in corpus)
    assert set(counts) == set(DEFAULT_FOLDERS)
    assert counts.most_common(1)[0][0] == "INBOX"
    assert len(corpus) == SPEC.messages
    assert [m.index for m in corpus] == list(range(SPEC.messages))


def test_default_tree_has_the_awkward_names() -> None:
    names = set(DEFAULT_FOLDERS)
    assert {"Sent", "Drafts", "Trash", "Junk", "Archive"} <= names
    assert "Økonomi & Løn" in names
    assert any("&" in n for n in names)
    assert any(n.count("/") >= 2 for n in names)
    assert any(any(ord(c) > 0x3000 for c in n) for n in names)


def test_flags_and_keywords_are_mixed(corpus: list[GeneratedMessage]) -> None:
    flags = Counter(f for m in corpus for f in m.flags)
    for flag in ("\\Seen", "\\Answered", "\\Flagged", "\\Draft", "$Forwarded", "$Junk"):
        assert flags[flag] > 0, flag
    assert flags["\\Seen"] < len(corpus)
    assert any(not f.startswith("\\") and not f.startswith("$") for f in flags)
    assert all(re.fullmatch(r"\\?\$?[A-Za-z0-9_]+", f) for f in flags)
    drafts = [m for m in corpus if m.folder == "Drafts"]
    assert all("\\Draft" in m.flags for m in drafts)


def test_dates_span_years_inside_the_range(corpus: list[GeneratedMessage]) -> None:
    low, high = SPEC.date_range
    assert all(low <= m.internaldate <= high for m in corpus)
    assert all(m.internaldate.tzinfo is not None for m in corpus)
    assert len({m.internaldate.year for m in corpus}) >= 8
    assert all(m.internaldate.microsecond == 0 for m in corpus)


def test_sizes_follow_the_spec(corpus: list[GeneratedMessage]) -> None:
    sizes = sorted(m.size for m in corpus if m.kind != "long-line")
    assert 900 <= sizes[0] < 2 * 1024 + 1024
    assert sizes[-1] < 80 * 1024
    assert 4 * 1024 < sizes[len(sizes) // 2] < 30 * 1024


def test_large_messages_only_when_asked() -> None:
    spec = CorpusSpec(seed=5, messages=20, large_count=2, large_size=(3_000_000, 3_500_000))
    large = [m for m in generate(spec) if m.kind == "large"]
    assert len(large) == 2
    assert all(3_000_000 <= m.size <= 3_700_000 for m in large)
    assert all(b"Content-Transfer-Encoding: base64" in m.data for m in large)


def test_all_malformed_kinds_appear(corpus: list[GeneratedMessage]) -> None:
    kinds = Counter(m.kind for m in corpus)
    assert set(MALFORMED_KINDS) <= set(kinds)
    assert sum(kinds[k] for k in MALFORMED_KINDS) == round(SPEC.messages * 0.05)
    assert {"plain-ascii", "plain-utf8", "plain-latin1", "alternative", "mixed"} <= set(kinds)


def test_malformations_are_what_they_claim(corpus: list[GeneratedMessage]) -> None:
    by_kind = {m.kind: m for m in corpus}
    bare = by_kind["bare-lf"]
    assert b"\r\n" not in bare.data and b"\n" in bare.data
    assert bare.imap_size == len(bare.imap_data) > bare.size
    long_line = by_kind["long-line"].data
    assert max(len(line) for line in long_line.split(b"\r\n")) >= LONG_LINE_LENGTH
    broken = by_kind["broken-boundary"].data
    declared = re.search(rb'boundary="([^"]+)"', broken)
    assert declared is not None
    assert b"\r\n--" + declared.group(1) + b"\r\n" not in broken
    cut = by_kind["unterminated-multipart"].data
    declared = re.search(rb'boundary="([^"]+)"', cut)
    assert declared is not None
    assert b"--" + declared.group(1) + b"--" not in cut
    raw = by_kind["8bit-header"].data
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"MIME-Version" not in head and any(b > 127 for b in head)


def test_message_ids_missing_and_duplicated(corpus: list[GeneratedMessage]) -> None:
    ids = [m.message_id for m in corpus]
    assert None in ids
    repeated = [mid for mid, n in Counter(i for i in ids if i).items() if n > 1]
    assert repeated, "real mailboxes hold two different messages with one Message-ID"
    for mid in repeated:
        bodies = {m.sha256() for m in corpus if m.message_id == mid}
        assert len(bodies) > 1
    for m in corpus:
        if m.message_id is None:
            assert b"\nMessage-ID:" not in m.data
        else:
            assert b"Message-ID: " + m.message_id.encode() in m.data


def test_mail_is_realistic_and_nul_free(corpus: list[GeneratedMessage]) -> None:
    blob = b"".join(m.data for m in corpus)
    assert b"\0" not in blob
    assert b"=?UTF-8?Q?" in blob and b"=?UTF-8?B?" in blob and b"=?ISO-8859-1?Q?" in blob
    assert "æbler".encode() in blob and "æbler".encode("iso-8859-1") in blob
    assert b"multipart/alternative" in blob and b"multipart/mixed" in blob
    assert b"filename*=UTF-8''" in blob
    for m in corpus:
        head = m.data.split(b"\n\n" if m.kind == "bare-lf" else b"\r\n\r\n", 1)[0]
        assert b"From: " in head and b"Date: " in head and b"Subject: " in head


def test_imap_view_matches_stored_bytes_for_crlf_mail(corpus: list[GeneratedMessage]) -> None:
    for m in corpus:
        if m.kind != "bare-lf":
            assert m.imap_data == m.data and m.imap_size == m.size
            assert m.imap_sha256() == m.sha256()


def test_bad_specs_are_refused() -> None:
    with pytest.raises(RigError):
        CorpusSpec(folders=())
    with pytest.raises(RigError):
        CorpusSpec(messages=2, large_count=3)
    with pytest.raises(RigError):
        CorpusSpec(date_range=(datetime(2020, 1, 1), datetime(2021, 1, 1)))
    with pytest.raises(RigError):
        CorpusSpec(date_range=(datetime(2021, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC)))


def test_bytes_do_not_depend_on_the_hash_seed(corpus: list[GeneratedMessage]) -> None:
    script = (
        "import hashlib; from mailferry.rig import CorpusSpec, generate; "
        "print(hashlib.sha256(b''.join(m.data for m in generate("
        "CorpusSpec(seed=42, messages=400)))).hexdigest())"
    )
    expected = hashlib.sha256(b"".join(m.data for m in corpus)).hexdigest()
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == expected
