"""Header material for generated mail: people, subjects, attachments, encoded words, dates.

Encoded forms are computed once at import; the per-message hot path only picks and joins.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from urllib.parse import quote

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TZ_MINUTES = (0, 60, 60, 60, 120, 120, -300, -240, -480, 330, 540, 0)


def encoded_word_b(text: str, charset: str = "UTF-8") -> str:
    data = base64.b64encode(text.encode(charset)).decode("ascii")
    return f"=?{charset}?B?{data}?="


def encoded_word_q(text: str, charset: str = "UTF-8") -> str:
    out = []
    for byte in text.encode(charset):
        char = chr(byte)
        if char == " ":
            out.append("_")
        elif char.isalnum() and byte < 128:
            out.append(char)
        else:
            out.append(f"={byte:02X}")
    return f"=?{charset}?Q?{''.join(out)}?="


def header_text(text: str, style: int) -> bytes:
    """Encode a header phrase: ASCII as is, otherwise RFC 2047 in one of four styles."""
    if text.isascii():
        return text.encode("ascii")
    if style == 0:
        return encoded_word_q(text).encode("ascii")
    if style == 1:
        return encoded_word_b(text).encode("ascii")
    try:
        return encoded_word_q(text, "ISO-8859-1").encode("ascii")
    except UnicodeEncodeError:
        return encoded_word_b(text).encode("ascii")


def folded_b(text: str) -> bytes:
    """A long subject as several B encoded words folded over lines (RFC 2047 §2)."""
    words = text.split(" ")
    chunks = [" ".join(words[i : i + 4]) + " " for i in range(0, len(words), 4)]
    chunks[-1] = chunks[-1].rstrip()
    return b"\r\n ".join(encoded_word_b(chunk).encode("ascii") for chunk in chunks)


_PEOPLE_RAW = (
    ("Søren Kierkegaard", "soren@example.dk"),
    ("Mette Frederiksen", "mette.frederiksen@example.dk"),
    ("Bjørn Østergård", "bjorn.ostergard@firma.example.dk"),
    ("Åse Ærø", "aase@example.no"),
    ("Jürgen Müller", "j.mueller@beispiel.example.de"),
    ("Zoë Weiß", "zoe@example.de"),
    ("Terry Adams", "terry.adams@contoso.example.com"),
    ("Ann Beebe", "ann.beebe@contoso.example.com"),
    ("李小龙", "li@example.cn"),
    ("Ελένη Παππά", "eleni@example.gr"),
    ("Jane Doe", "jane.doe@example.com"),
    ("", "noreply@notifications.example.com"),
    ("Newsletter Team", "news@lists.example.org"),
    ("Hr. Hansen, Økonomi", "hansen@example.dk"),
)


def _address(name: str, email: str, style: int) -> bytes:
    if not name:
        return email.encode("ascii")
    phrase = header_text(name, style)
    if name.isascii() and ("," in name or "." in name):
        phrase = b'"' + phrase + b'"'
    return phrase + b" <" + email.encode("ascii") + b">"


ADDRESSES: tuple[bytes, ...] = tuple(
    _address(name, email, index % 3) for index, (name, email) in enumerate(_PEOPLE_RAW)
)
RAW_8BIT_ADDRESSES: tuple[bytes, ...] = tuple(
    name.encode("utf-8") + b" <" + email.encode("ascii") + b">"
    for name, email in _PEOPLE_RAW
    if name and not name.isascii()
)
DOMAINS = ("example.dk", "mail.example.com", "mx.contoso.example.com", "example.de")

_SUBJECTS_RAW = (
    "Møde om økonomi & løn i næste uge",
    "Re: Tilbud på æbler og blåbær",
    "SV: Faktura 2019-0042",
    "Fwd: Entwürfe für die Besprechung in München",
    "Quarterly report Q3",
    "Re: Re: Re: lunch?",
    "Invitation: Project kick-off",
    "Your invoice is ready",
    "会议纪要 - 北京客户",
    "Πρόσκληση σε συνάντηση",
    "Ærlig talt, hvad med påskefrokosten? 😀",
    "Newsletter: 10 tips for a better inbox",
    "[Projekter] Status på Æbler 2019",
    "Ferie & fridage: husk at registrere dem inden fredag",
)

SUBJECTS: tuple[bytes, ...] = tuple(
    header_text(text, index % 3) for index, text in enumerate(_SUBJECTS_RAW)
)
FOLDED_SUBJECT = folded_b(
    "Meget lang emnelinje om økonomi, løn, æbler, blåbær og alt det andet vi "
    "skal nå at tale om på mødet i København næste torsdag"
)
RAW_8BIT_SUBJECTS: tuple[bytes, ...] = tuple(
    text.encode("utf-8") for text in _SUBJECTS_RAW if not text.isascii()
)


def _attachment(content_type: str, filename: str) -> bytes:
    if filename.isascii():
        disposition = f'attachment; filename="{filename}"'
        name = f'"{filename}"'
    else:
        disposition = f"attachment;\r\n filename*=UTF-8''{quote(filename)}"
        name = f'"{encoded_word_b(filename)}"'
    return (
        f"Content-Type: {content_type}; name={name}\r\n"
        f"Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: {disposition}\r\n\r\n"
    ).encode("ascii")


ATTACHMENT_HEADERS: tuple[bytes, ...] = (
    _attachment("application/pdf", "Faktura 2019-03.pdf"),
    _attachment("image/jpeg", "IMG_2041.JPG"),
    _attachment(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Tilbud på æbler.docx",
    ),
    _attachment("text/csv", "løn-oversigt.csv"),
    _attachment("application/zip", "arkiv.zip"),
    _attachment("application/octet-stream", "Entwürfe (final).bin"),
)


def rfc5322_date(moment: datetime, tz_index: int) -> bytes:
    """``Tue, 03 Mar 2019 14:22:01 +0100`` for an aware UTC moment, shown in some zone."""
    minutes = _TZ_MINUTES[tz_index % len(_TZ_MINUTES)]
    local = moment + timedelta(minutes=minutes)
    sign = "+" if minutes >= 0 else "-"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return (
        f"{_DAYS[local.weekday()]}, {local.day:02d} {_MONTHS[local.month - 1]} {local.year} "
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d} {zone}"
    ).encode("ascii")
