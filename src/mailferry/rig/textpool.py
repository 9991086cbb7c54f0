"""Pre-built blocks of text and base64 that message bodies are sliced from.

Building bodies word by word is far too slow for 100,000 messages, so each pool is built
once (from a fixed seed, so every run is identical) and a message takes a slice of whole
lines starting at a random line. Slices never split a line, so UTF-8 stays valid and
base64 stays decodable.
"""

from __future__ import annotations

import base64
import bisect
import functools
import quopri
import random

_CRLF = b"\r\n"
_POOL_SEED = 0x6D61696C  # fixed: pools are the same for every corpus seed


def _words(text: str) -> list[str]:
    return text.split()


WORDS_EN = _words(
    "the of and to in is you that it he was for on are as with his they at be this have "
    "from or one had by word but not what all were we when your can said there use an each "
    "which she do how their if will up other about out many then them these so some her "
    "would make like him into time has look two more write go see number no way could "
    "people my than first water been call who its now find long down day did get come made "
    "may part meeting report invoice attached please regards thanks project budget review "
    "schedule quarter customer delivery contract draft update agenda minutes follow"
)

WORDS_DA = _words(
    "og i at det en den til er som på de med han af for ikke der var mig sig men et har om "
    "vi min havde ham hun nu over da fra du ud sin dem os op man hans hvor eller hvad skal "
    "selv her alle vil blev kunne ind når være dog noget ville jo deres efter ned skulle "
    "møde økonomi løn regnskab tilbud faktura kunde projekt æbler blåbær grøn rød skøn "
    "prøve første sidste måned år uge dag kære hilsen venlig tak for sidst påske jul ærlig"
)

WORDS_DE = _words(
    "und der die das nicht ist mit Grüße Entwürfe Bestellung Rechnung Größe für über "
    "Straße schön Mädchen Bücher Äpfel Öl Übung Besprechung Angebot Kunde München Köln"
)

WORDS_WIDE = _words("北京 客户 会议 報告 日本語 데이터 Ελλάδα Привет 😀 ✓ €")


class LinePool:
    """A blob of CRLF-terminated lines with random whole-line slicing."""

    def __init__(self, lines: list[bytes]) -> None:
        self.blob = _CRLF.join(lines) + _CRLF
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line) + 2)
        self.offsets = offsets
        self.line_count = len(lines)

    def take(self, rng: random.Random, size: int) -> bytes:
        """About ``size`` bytes (at least one line) of whole lines, wrapping around."""
        parts: list[bytes] = []
        remaining = max(size, 1)
        start = rng.randrange(self.line_count)
        while remaining > 0:
            begin = self.offsets[start]
            end_index = bisect.bisect_left(self.offsets, begin + remaining, lo=start + 1)
            end_index = min(end_index, self.line_count)
            chunk = self.blob[begin : self.offsets[end_index]]
            parts.append(chunk)
            remaining -= len(chunk)
            start = 0
        return b"".join(parts)


def _wrap(words: list[str], width: int = 72) -> list[str]:
    lines: list[str] = []
    current: list[str] = []
    length = 0
    for word in words:
        if current and length + 1 + len(word) > width:
            lines.append(" ".join(current))
            current, length = [], 0
        current.append(word)
        length += len(word) + (1 if length else 0)
    if current:
        lines.append(" ".join(current))
    return lines


def _paragraphs(rng: random.Random, vocab: list[str], count: int) -> list[str]:
    lines: list[str] = []
    for _ in range(count):
        words = [rng.choice(vocab) for _ in range(rng.randint(20, 120))]
        words[0] = words[0].capitalize()
        for index in range(rng.randint(2, 9), len(words), rng.randint(7, 15)):
            words[index] += "."
        lines.extend(_wrap(words))
        lines.append("")
    return lines


@functools.cache
def ascii_pool() -> LinePool:
    rng = random.Random(_POOL_SEED)
    return LinePool([line.encode("ascii") for line in _paragraphs(rng, WORDS_EN, 5000)])


@functools.cache
def _european_text() -> tuple[str, ...]:
    rng = random.Random(_POOL_SEED + 1)
    return tuple(_paragraphs(rng, WORDS_DA * 3 + WORDS_DE + WORDS_EN, 3000))


@functools.cache
def utf8_pool() -> LinePool:
    """Danish/German/English, with a sprinkling of CJK, Greek, Cyrillic and emoji."""
    rng = random.Random(_POOL_SEED + 2)
    lines = list(_european_text())
    for index in range(0, len(lines), 7):
        if lines[index]:
            lines[index] += " " + " ".join(rng.sample(WORDS_WIDE, 3))
    return LinePool([line.encode("utf-8") for line in lines])


@functools.cache
def latin1_pool() -> LinePool:
    return LinePool([line.encode("iso-8859-1") for line in _european_text()])


@functools.cache
def qp_pool() -> LinePool:
    """The UTF-8 text, quoted-printable encoded (soft line breaks included)."""
    raw = utf8_pool().blob.replace(_CRLF, b"\n")
    encoded = quopri.encodestring(raw)
    return LinePool(encoded.split(b"\n")[:-1])


@functools.cache
def base64_pool() -> LinePool:
    """768 KiB of random bytes as base64 in 76-character lines."""
    rng = random.Random(_POOL_SEED + 3)
    text = base64.b64encode(rng.randbytes(768 * 1024))
    return LinePool([text[i : i + 76] for i in range(0, len(text), 76)])


def warm_up() -> None:
    """Build every pool now (the first corpus would otherwise pay for it)."""
    for pool in (ascii_pool, utf8_pool, latin1_pool, qp_pool, base64_pool):
        pool()
