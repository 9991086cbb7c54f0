"""What a failing round leaves for the investigation: the state database's message
pairs as a table, the differences found, and a copy of the whole round directory."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path

PAIRS_SQL = """
SELECT m.key, f.source_folder, f.target_folder, p.source_uid, p.target_uid, p.state,
       p.size, p.target_uidnext_before, p.fingerprint, p.flags
FROM message_pairs p JOIN folders f ON p.folder_id = f.id JOIN mailboxes m ON f.mailbox_id = m.id
ORDER BY m.key, f.source_folder, p.source_uid
"""
PAIR_COLUMNS = (
    "mailbox source_folder target_folder source_uid target_uid state size "
    "target_uidnext_before fingerprint flags"
)


def pair_states(db: Path) -> str:
    """e.g. ``done 1190, pending 2`` (or why it could not be read)."""
    if not db.exists():
        return "no state DB yet"
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute("SELECT state, count(*) FROM message_pairs GROUP BY state")
            return ", ".join(f"{state} {n}" for state, n in rows) or "no pairs"
    except sqlite3.Error as exc:
        return f"unreadable: {exc}"


def dump_pairs(db: Path, out: Path) -> None:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            rows = list(conn.execute(PAIRS_SQL))
    except sqlite3.Error as exc:
        out.write_text(f"unreadable: {exc}\n")
        return
    lines = ["\t".join(PAIR_COLUMNS.split())]
    lines += ["\t".join("" if v is None else str(v) for v in row) for row in rows]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def keep(directory: Path, destination: Path, state_db: Path, details: Sequence[str]) -> Path:
    """Copy the round's directory to ``destination`` with pairs.tsv and differences.txt."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(directory, destination, symlinks=True, dirs_exist_ok=True)
    dump_pairs(state_db, destination / "pairs.tsv")
    (destination / "differences.txt").write_text("\n".join(details) + "\n", encoding="utf-8")
    return destination
