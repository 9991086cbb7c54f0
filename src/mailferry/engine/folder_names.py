"""Making one folder-name component safe for the target, predictably.

Rules, applied in this order (each rename is reported as a note):

- control characters (C0, DEL, C1), lone surrogates and line/paragraph
  separators become ``_``;
- the target's delimiter, and any character the target forbids, become a
  look-alike: ``.`` → ``․`` (U+2024 ONE DOT LEADER), ``/`` → ``∕`` (U+2215
  DIVISION SLASH), ``\\`` → ``⧵`` (U+29F5); any other character → ``_``. The
  folder keeps its look, stays one folder, and can't be read as hierarchy;
- an empty or blank component becomes ``_``; ``.`` and ``..`` become ``․`` and
  ``․․`` so that no component can walk a Maildir path;
- a component longer than the limit is cut at a character boundary (trailing
  blanks dropped); a clash gets `` (2)``, `` (3)``… inside the same limit.

Lengths are bytes of the longer of UTF-8 and modified UTF-7 (RFC 3501 §5.1.3),
so a name fits both on disk and on the wire.
"""

from __future__ import annotations

import re
import unicodedata

#: Replacement for a character that may not appear in a component.
FALLBACK = "_"
_LOOKALIKES = {".": "\u2024", "/": "\u2215", "\\": "\u29f5"}
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_ENCODED_RUN = re.compile(r"[^\x20-\x7e]+")


def lookalike(character: str) -> str:
    """The character that stands in for ``character`` inside a name."""
    return _LOOKALIKES.get(character, FALLBACK)


def mutf7_length(text: str) -> int:
    """Length in bytes of ``text`` in modified UTF-7, computed without encoding it."""
    total = len(text) + text.count("&")  # every character once, "&" as "&-"
    for run in _ENCODED_RUN.findall(text):
        units = len(run.encode("utf-16-le", "surrogatepass")) // 2
        total += _run_length(units) - len(run)  # "&" base64 "-" instead of the run
    return total


def _run_length(units: int) -> int:
    return 0 if units == 0 else 2 + (units * 16 + 5) // 6


def encoded_length(text: str) -> int:
    """Bytes ``text`` takes in the longer of UTF-8 and modified UTF-7."""
    return max(len(text.encode("utf-8", "surrogatepass")), mutf7_length(text))


def truncate(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` bytes, without trailing blanks."""
    utf8 = closed = run = 0  # UTF-8 bytes; mUTF-7 bytes before the open run; its UTF-16 units
    for index, char in enumerate(text):
        code = ord(char)
        utf8 += 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
        if 0x20 <= code <= 0x7E:
            closed += _run_length(run) + (2 if char == "&" else 1)
            run = 0
        else:
            run += 2 if code > 0xFFFF else 1
        if max(utf8, closed + _run_length(run)) > limit:
            return text[:index].rstrip() or FALLBACK
    return text


def with_suffix(text: str, number: int, limit: int) -> str:
    """``text (number)``, shortening ``text`` so that the result fits ``limit`` bytes."""
    suffix = f" ({number})"
    return truncate(text, limit - len(suffix)) + suffix


def clean_component(name: str, delimiter: str, forbidden: str = "") -> tuple[str, tuple[str, ...]]:
    """``name`` made valid as one component on the target, and notes for each change."""
    notes: list[str] = []
    text = name
    if any(unicodedata.category(char) in _BAD_CATEGORIES for char in text):
        text = "".join(
            FALLBACK if unicodedata.category(char) in _BAD_CATEGORIES else char for char in text
        )
        notes.append("control characters replaced with '_'")
    for char in _ordered_unique(delimiter + forbidden):
        if char in text:
            text = text.replace(char, lookalike(char))
            why = "the target's hierarchy delimiter" if char == delimiter else "not allowed"
            notes.append(f"{char!r} is {why}: replaced with {lookalike(char)!r}")
    if not text.strip():
        text = FALLBACK
        notes.append("empty or blank name replaced with '_'")
    elif text in (".", ".."):
        text = text.replace(".", _LOOKALIKES["."])
        notes.append(f"{name!r} is a path step: replaced with {text!r}")
    return text, tuple(notes)


def _ordered_unique(characters: str) -> str:
    return "".join(dict.fromkeys(characters))
