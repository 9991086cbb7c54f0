"""Flags in Maildir file names and keywords in ``dovecot-keywords``.

A delivered file ends in ``:2,<letters>``: system flags as upper-case letters
(D Draft, F Flagged, R Answered, S Seen, T Deleted) and keywords as lower-case
letters ``a``–``z``, letter *n* being the keyword on line ``<n> <name>`` of
the folder's ``dovecot-keywords`` file. So a folder keeps at most 26 keywords;
more are not kept (``permanent_flags`` then lacks ``\\*``). ``P`` (passed) has
no IMAP meaning and is ignored, as Dovecot ignores it.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailferry.stores.flags import storable

SYSTEM_LETTERS = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}
_LETTER_FLAGS = {letter: flag for flag, letter in SYSTEM_LETTERS.items()}
MAX_KEYWORDS = 26
KEYWORDS_FILE = "dovecot-keywords"
INFO_PREFIX = ":2,"


class KeywordTable:
    """One folder's ``dovecot-keywords``: index (letter) <-> keyword name."""

    def __init__(self, names: Iterable[str | None] = ()) -> None:
        self.names: list[str | None] = list(names)[:MAX_KEYWORDS]
        self._index = {name: i for i, name in enumerate(self.names) if name is not None}

    @classmethod
    def parse(cls, text: str) -> KeywordTable:
        """Lines ``<index> <name>``; bad lines are skipped, gaps stay gaps."""
        names: list[str | None] = []
        for line in text.splitlines():
            index_text, _, name = line.partition(" ")
            if not index_text.isdigit() or not name:
                continue
            index = int(index_text)
            if index >= MAX_KEYWORDS:
                continue
            names.extend([None] * (index + 1 - len(names)))
            names[index] = name
        return cls(names)

    def render(self) -> str:
        return "".join(f"{i} {name}\n" for i, name in enumerate(self.names) if name is not None)

    @property
    def full(self) -> bool:
        return len(self._index) >= MAX_KEYWORDS

    def keywords(self) -> tuple[str, ...]:
        return tuple(name for name in self.names if name is not None)

    def letter(self, keyword: str) -> str | None:
        index = self._index.get(keyword)
        return None if index is None else chr(ord("a") + index)

    def add(self, keyword: str) -> bool:
        """Give ``keyword`` a letter; False when all 26 are taken."""
        if keyword in self._index:
            return True
        free = next((i for i, name in enumerate(self.names) if name is None), len(self.names))
        if free >= MAX_KEYWORDS:
            return False
        if free == len(self.names):
            self.names.append(keyword)
        else:
            self.names[free] = keyword
        self._index[keyword] = free
        return True

    def name(self, letter: str) -> str | None:
        index = ord(letter) - ord("a")
        return self.names[index] if 0 <= index < len(self.names) else None


def info_letters(flags: Iterable[str], table: KeywordTable) -> str:
    """Sorted flag letters for ``flags``; keywords without a letter are left out."""
    system, keywords = storable(flags)
    letters = {SYSTEM_LETTERS[flag] for flag in system}
    for keyword in keywords:
        letter = table.letter(keyword)
        if letter is not None:
            letters.add(letter)
    return "".join(sorted(letters))


def flags_from_letters(letters: str, table: KeywordTable) -> tuple[str, ...]:
    """The IMAP flags a file's letters stand for (unknown letters are ignored)."""
    flags: list[str] = []
    for letter in sorted(set(letters)):
        if letter in _LETTER_FLAGS:
            flags.append(_LETTER_FLAGS[letter])
        elif "a" <= letter <= "z":
            name = table.name(letter)
            if name is not None:
                flags.append(name)
    return tuple(flags)
