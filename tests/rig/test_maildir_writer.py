"""write_maildir on disk: Maildir++ names, flag letters, keywords, mtimes, subscriptions."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailferry.rig import CorpusSpec, GeneratedMessage, RigError, generate, write_maildir
from mailferry.rig.maildir import folder_dir


def _message(
    folder: str, flags: tuple[str, ...], data: bytes = b"Subject: x\r\n\r\ny\r\n"
) -> GeneratedMessage:
    when = datetime(2019, 3, 4, 5, 6, 7, tzinfo=UTC)
    return GeneratedMessage(folder, data, flags, when, "plain-ascii", None, 0, len(data))


def test_folder_names_become_modified_utf7_maildirplusplus(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    assert folder_dir(root, "INBOX") == root
    assert folder_dir(root, "inbox") == root
    assert folder_dir(root, "INBOX/Sub") == root / ".INBOX.Sub"
    assert folder_dir(root, "Økonomi & Løn") == root / ".&ANg-konomi &- L&APg-n"
    assert folder_dir(root, "Projekter/Æbler/2019") == root / ".Projekter.&AMY-bler.2019"
    for bad in ("a.b", "a//b", "", "x/.."):
        with pytest.raises(RigError):
            folder_dir(root, bad)


def test_files_flags_keywords_and_mtime(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    messages = [
        _message("Kunder/Tyskland", ("\\Seen", "\\Answered", "$Forwarded", "Vigtigt")),
        _message("Kunder/Tyskland", ("$Junk", "\\Deleted", "\\Flagged", "\\Draft")),
        _message("INBOX", ()),
    ]
    stats = write_maildir(root, messages, extra_folders=["Tom mappe"])
    assert stats.messages == 3
    assert stats.bytes == sum(m.size for m in messages)
    assert stats.folders == ("INBOX", "Tom mappe", "Kunder", "Kunder/Tyskland")
    folder = root / ".Kunder.Tyskland"
    assert (folder / "maildirfolder").exists() and (folder / "new").is_dir()
    assert (root / ".Kunder" / "cur").is_dir()
    names = sorted(p.name for p in (folder / "cur").iterdir())
    assert [n.rsplit(":2,", 1)[1] for n in names] == ["RSab", "DFTc"]
    assert (folder / "dovecot-keywords").read_text() == "0 $Forwarded\n1 Vigtigt\n2 $Junk\n"
    size = len(messages[0].data)
    assert all(f",S={size},W={size}:2," in n for n in names)
    stamp = messages[0].internaldate.timestamp()
    assert all(os.stat(folder / "cur" / n).st_mtime == stamp for n in names)
    assert len(list((root / "cur").iterdir())) == 1
    subscriptions = (root / "subscriptions").read_text().split("\n")
    assert subscriptions[:2] == ["V\t2", ""]
    assert set(subscriptions[2:-1]) == {"INBOX", "Tom mappe", "Kunder", "Kunder\tTyskland"}


def test_bare_lf_mail_gets_its_crlf_size(tmp_path: Path) -> None:
    data = b"Subject: lf\n\nline\n"
    message = GeneratedMessage(
        "INBOX", data, (), datetime(2020, 1, 1, tzinfo=UTC), "bare-lf", None, 0, len(data) + 3
    )
    write_maildir(tmp_path, [message])
    (name,) = os.listdir(tmp_path / "cur")
    assert f",S={len(data)},W={len(data) + 3}:2," in name


def test_writing_twice_adds_without_clobbering(tmp_path: Path) -> None:
    spec = CorpusSpec(seed=3, messages=30, folders=("INBOX", "Sent"))
    write_maildir(tmp_path, generate(spec))
    write_maildir(tmp_path, generate(spec))
    files = list((tmp_path / "cur").iterdir()) + list((tmp_path / ".Sent" / "cur").iterdir())
    assert len(files) == 60
    assert (tmp_path / "subscriptions").read_text().count("Sent") == 1


def test_too_many_keywords_in_one_folder_is_an_error(tmp_path: Path) -> None:
    messages = [_message("INBOX", (f"kw{i}",)) for i in range(27)]
    with pytest.raises(RigError, match="keywords"):
        write_maildir(tmp_path, messages)
