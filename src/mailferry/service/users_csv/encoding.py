"""Which encoding a spreadsheet used for a CSV, and the text it holds.

Tried in order: a byte-order mark (UTF-32, UTF-8, UTF-16: "CSV UTF-8" and "Unicode text"
as Excel saves them); UTF-16 without a BOM (the ASCII header puts a NUL in every other
byte); strict UTF-8; Windows-1252 (Excel's "CSV (Comma delimited)" in Western locales).
A file that is valid UTF-8 in places and not in others is refused instead of guessed:
either guess would silently change some passwords.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from mailferry.service.users_csv.problems import CsvProblem, CsvProblemCode

_RESAVE = 'Save it again from the spreadsheet as "CSV UTF-8 (Comma delimited)".'

#: Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE with BOM"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE with BOM"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE with BOM"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE with BOM"),
)

#: How many leading bytes must look like ASCII in UTF-16 (four characters, or the whole
#: file if shorter) for UTF-16 without a BOM: one zero byte in the first two could be a
#: stray NUL in a UTF-8 file.
_UTF16_PROBE = 8

_WORKBOOKS = (
    (b"PK\x03\x04", "a spreadsheet workbook (.xlsx or .ods), not a CSV file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls), not a CSV file"),
)

#: A well-formed multi-byte UTF-8 sequence (rare by accident in Windows-1252 text).
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _windows_1252_table() -> dict[int, str]:
    """Latin-1 → Windows-1252 for 0x80-0x9F; the five unassigned bytes stay C1 as on Windows."""
    table: dict[int, str] = {}
    for byte in range(0x80, 0xA0):
        try:
            table[byte] = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue
    return table


_CP1252 = _windows_1252_table()


@dataclass(frozen=True)
class DecodedCsv:
    """The text of the file and a human name of the encoding it was read as."""

    text: str
    encoding: str


def decode_csv_bytes(data: bytes) -> DecodedCsv | CsvProblem:
    """Decode ``data`` as a spreadsheet wrote it, or say why it can't be read as text.

    Byte-order marks left at the start (a file saved twice) are dropped with the first.
    """
    decoded = _decode(data)
    if isinstance(decoded, DecodedCsv) and decoded.text.startswith("\ufeff"):
        return DecodedCsv(decoded.text.lstrip("\ufeff"), decoded.encoding)
    return decoded


def _decode(data: bytes) -> DecodedCsv | CsvProblem:
    for signature, what in _WORKBOOKS:
        if data.startswith(signature):
            reason = f"The file is {what}. {_RESAVE}"
            return CsvProblem(None, None, CsvProblemCode.NOT_CSV, reason)
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            return _decode_strict(data[len(bom) :], codec, name)
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    try:
        return DecodedCsv(data.decode("utf-8"), "UTF-8")
    except UnicodeDecodeError as exc:
        if _UTF8_SEQUENCE.search(data):
            line = _line_of(data, "utf-8", exc.start)
            reason = (
                f"The file is UTF-8 in some places but not in others (first non-UTF-8 byte on "
                f"line {line}); it was probably edited with programs using different "
                f"encodings. {_RESAVE}"
            )
            return CsvProblem(None, None, CsvProblemCode.ENCODING, reason)
    return DecodedCsv(data.decode("latin-1").translate(_CP1252), "Windows-1252")


def _decode_strict(data: bytes, codec: str, name: str) -> DecodedCsv | CsvProblem:
    try:
        return DecodedCsv(data.decode(codec), name)
    except UnicodeDecodeError as exc:
        line = _line_of(data, codec, exc.start)
        reason = (
            f"The file starts with a {name.removesuffix(' with BOM')} byte-order mark but is "
            f"not valid {name.split(' ')[0]} (line {line}: {exc.reason}). {_RESAVE}"
        )
        return CsvProblem(None, None, CsvProblemCode.ENCODING, reason)


def _utf16_without_bom(data: bytes) -> DecodedCsv | CsvProblem | None:
    """UTF-16 if the first code units are ASCII (each with one zero byte); refused if the
    file then can't be UTF-16 (an odd number of bytes: cut off; or an unpaired surrogate)."""
    head = data[:_UTF16_PROBE]
    if len(head) < 2:
        return None
    if all(head[0::2]) and not any(head[1::2]):
        codec, name = "utf-16-le", "UTF-16 LE"
    elif all(head[1::2]) and not any(head[0::2]):
        codec, name = "utf-16-be", "UTF-16 BE"
    else:
        return None
    if len(data) % 2:
        reason = (
            f"The file looks like {name} text without a byte-order mark (every other byte is "
            f"zero), but it has an odd number of bytes, so it was cut off. {_RESAVE}"
        )
        return CsvProblem(None, None, CsvProblemCode.ENCODING, reason)
    try:
        return DecodedCsv(data.decode(codec), name)
    except UnicodeDecodeError as exc:
        line = _line_of(data, codec, exc.start)
        reason = (
            f"The file looks like {name} text without a byte-order mark, but it is not valid "
            f"{name} (line {line}: {exc.reason}). {_RESAVE}"
        )
        return CsvProblem(None, None, CsvProblemCode.ENCODING, reason)


def _line_of(data: bytes, codec: str, offset: int) -> int:
    """The 1-based line on which byte ``offset`` of ``data`` lies."""
    return data[:offset].decode(codec, errors="replace").count("\n") + 1
