"""Text from a server or a CSV, made safe to print on a terminal.

A folder name, an address or a server's reply may hold characters that act on the
terminal or on how the text around them reads: C0/C1 controls (ESC sequences, carriage
return, DEL), bidirectional overrides and isolates (U+202E turns ``exe.txt`` around),
zero-width and other invisible format characters, line and paragraph separators, and
lone surrogates (bytes no codec could decode). ``printable`` shows each of them as a
visible escape (``\\u202e``, ``\\x7f``, ``\\n``) and leaves everything else as it was.

Zero-width (non-)joiners are kept where writing needs them, between two non-ASCII
characters (Persian words, emoji sequences); next to ASCII, at an end or beside a space
they can only hide something, and are shown. JSON output never goes through here: it
stays exact.
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_JOINERS = frozenset({"\u200c", "\u200d"})  # ZWNJ, ZWJ
_TAGS = range(0xE0020, 0xE0080)  # emoji tag sequences (subdivision flags)
_SHOWN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def printable(text: str) -> str:
    """``text`` with every control, bidi, invisible or undecodable character escaped."""
    if text.isprintable() and text.isascii():
        return text  # the common case, at once
    out: list[str] = []
    for index, char in enumerate(text):
        out.append(_escaped(char) if _hidden(text, index, char) else char)
    return "".join(out)


def printable_lines(text: str) -> str:
    """``printable`` line by line: line feeds stay (a multi-line message keeps its
    shape), every other character ``printable`` escapes is escaped."""
    return "\n".join(printable(line) for line in text.split("\n"))


def rich_text(text: str) -> str:
    """``printable`` and escaped for Rich markup: what a console line or cell shows."""
    return escape(printable(text))


def _hidden(text: str, index: int, char: str) -> bool:
    if unicodedata.category(char) not in _SHOWN_CATEGORIES:
        return False
    if char in _JOINERS:
        return not (_writing(text, index - 1) and _writing(text, index + 1))
    if ord(char) in _TAGS:
        return not _after_tag_base(text, index)
    return True


def _writing(text: str, index: int) -> bool:
    """A neighbour a joiner may bind to: non-ASCII, visible (not a space or control)."""
    if not 0 <= index < len(text):
        return False
    char = text[index]
    return not char.isascii() and not char.isspace() and unicodedata.category(char)[0] != "C"


def _after_tag_base(text: str, index: int) -> bool:
    """Tag characters follow a black flag (U+1F3F4) and each other, nothing else."""
    while index > 0 and ord(text[index - 1]) in _TAGS:
        index -= 1
    return index > 0 and text[index - 1] == "\U0001f3f4"


def _escaped(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
