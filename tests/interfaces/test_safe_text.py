"""Names with control, bidi or invisible characters are printed escaped, never raw."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from mailferry.interfaces.cli.output import render
from mailferry.interfaces.cli.progress_view import MigrationProgress
from mailferry.interfaces.cli.safe_text import printable, printable_lines, rich_text
from mailferry.service.users_csv.parse import MigrationUserRow
from mailferry.values.progress import RetryWaiting

SPOOF_FOLDER = "Invoices\u202etxt.exe"  # shows as "Invoicesexe.txt"
SPOOF_ADDRESS = "bob\x7f\x1b[2K@contoso.example"  # DEL, then an erase-line sequence


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Inbox", "Inbox"),
        ("Éléments envoyés/日本語", "Éléments envoyés/日本語"),  # ordinary text stays
        (SPOOF_FOLDER, "Invoices\\u202etxt.exe"),
        ("a\x7fb", "a\\x7fb"),
        ("tab\there\nnew\rline", "tab\\there\\nnew\\rline"),
        ("\x1b[31mred", "\\x1b[31mred"),  # C0: ESC
        ("csi\x9b2J", "csi\\x9b2J"),  # C1: CSI
        ("\u2066isolate\u2069 \u200fmark", "\\u2066isolate\\u2069 \\u200fmark"),
        ("line\u2028sep", "line\\u2028sep"),
        ("soft\u00adhyphen\ufeff", "soft\\xadhyphen\\ufeff"),
        ("pay\u200dpal", "pay\\u200dpal"),  # a joiner between ASCII letters hides something
        ("\u200dadmin", "\\u200dadmin"),
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian needs its ZWNJ
        ("👩\u200d💻", "👩\u200d💻"),  # an emoji ZWJ sequence
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", None),  # Scotland
        ("x\U000e0067", "x\\U000e0067"),  # a tag character alone
        ("bytes\udcff", "bytes\\udcff"),  # an undecodable byte (surrogateescape)
    ],
)
def test_printable(raw: str, shown: str | None) -> None:
    assert printable(raw) == (raw if shown is None else shown)


def test_lines_keep_their_breaks_and_rich_text_is_markup_safe() -> None:
    assert printable_lines("first\u202e\nsecond\x7f") == "first\\u202e\nsecond\\x7f"
    assert rich_text("[bold]x\u202e") == "\\[bold]x\\u202e"


@pytest.mark.parametrize("fmt", ["table", "list"])
def test_text_formats_escape_and_json_stays_exact(fmt: str) -> None:
    records = [{"Identity": SPOOF_ADDRESS, "Folder": SPOOF_FOLDER, "Error": "one\ntwo\u2028"}]
    text = render(records, fmt)
    assert "\u202e" not in text and "\x7f" not in text and "\x1b" not in text
    assert "\\u202e" in text and "bob\\x7f\\x1b[2K@contoso.example" in text
    assert "\u2028" not in text and "\\u2028" in text
    assert json.loads(render(records, "json")) == records
    assert [json.loads(line) for line in render(records, "jsonl").splitlines()] == records


def test_progress_lines_escape_the_address_and_the_servers_words() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    row = MigrationUserRow(2, SPOOF_ADDRESS, "bob", "pw")
    waiting = RetryWaiting(1, 5, 0.5, "NO [THROTTLED] busy\u202e\x1b[2J", "Throttled")
    with MigrationProgress(console) as progress:
        progress.on_event(row.email_address, waiting)
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text and "\x7f" not in text
    assert "bob\\x7f\\x1b[2K@contoso.example: waiting 500 ms before attempt 2 of 5" in text
    assert "NO [THROTTLED] busy\\u202e\\x1b[2J" in text
