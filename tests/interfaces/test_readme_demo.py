"""The README's two commands stay true: the scripts exist and the demo they run works."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text().splitlines()[:6]
    assert "bash scripts/demo.sh" in "\n".join(head)
    assert "bash scripts/test.sh" in "\n".join(head)
    for script in ("demo.sh", "test.sh", "setup.sh", "setup-postgres.sh"):
        assert (ROOT / "scripts" / script).is_file()
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    assert "mailferry.rig demo" in (ROOT / "scripts" / "demo.sh").read_text()


def test_the_demo_migrates_and_verifies_on_real_servers() -> None:
    # Not pytest's tmp_path: its 0700 parents would lock the dovecot user out (see conftest).
    tmp_path = Path(tempfile.mkdtemp(prefix="mailferry-demo-test-"))
    try:
        check_demo(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def check_demo(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailferry.rig", "demo", "--messages", "40",
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Server is reachable." in out
    assert out.count("3 synced, 0 incomplete, 0 failed.") == 3  # maildir, maildir again, imap
    assert (tmp_path / "report-maildir.json").is_file()
    assert (tmp_path / "report-imap.json").is_file()
    assert "demo-admin-pass" not in out + done.stderr
    # The service's journey with Exchange's cmdlet names and real | Format-List pipes.
    for name, value in (("MaxConcurrentIncrementalSyncs", "10"), ("Status", "Synced"),
                        ("SyncedItemCount", "40")):  # fmt: skip
        assert re.search(rf"^{name} +: {value}$", out, re.MULTILINE), (name, out[-3000:])
    assert "Removed batch IMAPBatch1" in out
    assert "migration batch 'IMAPBatch1' was not found" in done.stderr
