"""A source whose literal announces more bytes than the message has (``BODY[] {198}`` for
a 178-byte message, as a broken proxy sent it): never a silent wrong or missing copy.

Real Dovecot behind the rig's fault proxy, which rewrites one literal's size in the
server-to-client stream. Before the fix, the literal swallowed the start of the next
FETCH response, whose body then read as the first message's: 14 of 15 copied, no error,
Synced, exit 0. Now the parser refuses the response, the user fails with a protocol
error (exit 1), and once the source behaves the next run copies everything exactly.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailferry.rig import CorpusSpec, DovecotServer, RigAccount, generate
from mailferry.rig.fault_proxy import FaultProxy
from tests.service.service_support import maildir_files


def sha(data: bytes) -> str:
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


@pytest.mark.parametrize("extra", [20, 30, 41])
def test_a_literal_longer_than_its_message_fails_cleanly_then_copies_exactly(
    dovecot_source: DovecotServer, make_user: Callable[..., RigAccount], tmp_path: Path,
    extra: int,
) -> None:  # fmt: skip
    """``extra`` moves where the swallowed bytes end in the next response: on an item
    boundary (the items read twice), inside a number or inside ``BODY[`` (the rest reads
    as an item nobody asked for, ``DY[]``, and the fault hunt once found that copied)."""
    account = make_user("liar", servers=(dovecot_source,))
    spec = CorpusSpec(seed=77, messages=15, folders=("INBOX",), deleted_fraction=0.0,
                      size_range=(150, 400), small_fraction=0.0)  # fmt: skip
    messages = list(generate(spec))
    dovecot_source.write_maildir(account.name, messages)
    wanted = Counter(sha(m.data) for m in messages)
    csv = tmp_path / "users.csv"
    csv.write_text(f"EmailAddress,UserName,Password\r\n{account.name}@example.test,"
                   f"{account.name},{account.password}\r\n")  # fmt: skip
    target = tmp_path / "maildir"

    def migrate(proxy: FaultProxy, report: str) -> tuple[int, dict[str, Any], str]:
        done = subprocess.run(
            [sys.executable, "-m", "mailferry", "migrate", "--source-server", "127.0.0.1",
             "--port", str(proxy.port), "--security", "None", "--csv", str(csv),
             "--target", f"maildir:{target}", "--state", str(tmp_path / "state.db"),
             "--report", str(tmp_path / report), "--max-attempts", "1"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        (user,) = json.loads((tmp_path / report).read_text())["Users"]
        return done.returncode, user, done.stdout + done.stderr

    with FaultProxy("127.0.0.1", dovecot_source.imap_port) as proxy:
        proxy.inflate_literals(extra, every=4, limit=3)
        code, user, output = migrate(proxy, "lied.json")
        assert proxy.counts().fault("inflate") >= 1, output
        assert code == 1, output
        assert user["Status"] != "Synced", user
        assert "literal" in (user["Error"] or ""), user
        copied = Counter(sha(path.read_bytes()) for path in maildir_files(target))
        assert not copied - wanted  # nothing copied that the source does not hold
        assert max(copied.values(), default=0) <= 1

        proxy.clear()
        code, user, output = migrate(proxy, "honest.json")
    assert code == 0, output
    assert user["Status"] == "Synced" and user["SyncedItemCount"] == len(messages)
    assert Counter(sha(path.read_bytes()) for path in maildir_files(target)) == wanted
