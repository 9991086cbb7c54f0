"""Build one RFC 5322 message of a given kind and approximate size from pooled parts.

Kinds: well-formed ones (plain text in several charsets and encodings, alternative,
mixed with attachments, large) and deliberately malformed ones that real mailboxes hold
(bare LF line endings, a boundary that never appears, a multipart cut off mid-way, a
20,000-character line, raw 8-bit headers without MIME headers).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import NamedTuple, TypeAlias

from mailferry.rig import mailparts, textpool

CRLF = b"\r\n"
NORMAL_KINDS = ("plain-ascii", "plain-utf8", "plain-latin1", "plain-qp", "alternative", "mixed")
NORMAL_WEIGHTS = (20, 20, 8, 8, 22, 22)
MALFORMED_KINDS = (
    "bare-lf",
    "broken-boundary",
    "unterminated-multipart",
    "long-line",
    "8bit-header",
)
LARGE_KIND = "large"
LONG_LINE_LENGTH = 20_000

_HeadersFn: TypeAlias = Callable[[random.Random], list[bytes]]
_BodyFn: TypeAlias = Callable[[random.Random, int, bytes], bytes]


class Envelope(NamedTuple):
    """The per-message header values the generator decided on."""

    date: bytes
    sender: bytes
    recipient: bytes
    cc: bytes | None
    subject: bytes
    message_id: bytes | None
    relay_ip: int
    queue_id: int


def build(rng: random.Random, kind: str, size: int, env: Envelope) -> bytes:
    """The complete message bytes (CRLF line endings unless the kind says otherwise)."""
    if kind == "bare-lf":
        return build(rng, "plain-utf8", size, env).replace(CRLF, b"\n")
    if kind == "8bit-header":
        return _eight_bit_header(rng, size, env)
    content_headers, body_for = _BODIES[kind]
    headers = _headers(env, content_headers(rng))
    body = body_for(rng, max(size - len(headers), 64), headers)
    return headers + body


def _headers(env: Envelope, content: list[bytes]) -> bytes:
    lines = [
        b"Received: from relay.example.net (relay.example.net [192.0.2.%d])\r\n"
        b"\tby mx.example.dk (Postfix) with ESMTPS id %X;\r\n\t%s"
        % (
            env.relay_ip,
            env.queue_id,
            env.date,
        ),
        b"Date: " + env.date,
        b"From: " + env.sender,
        b"To: " + env.recipient,
    ]
    if env.cc is not None:
        lines.append(b"Cc: " + env.cc)
    lines.append(b"Subject: " + env.subject)
    if env.message_id is not None:
        lines.append(b"Message-ID: " + env.message_id)
    lines.append(b"MIME-Version: 1.0")
    lines.extend(content)
    return CRLF.join(lines) + CRLF + CRLF


def _boundary(rng: random.Random) -> bytes:
    return b"----=_Part_%012x" % rng.getrandbits(48)


# -- single-part bodies ---------------------------------------------------------------


def _text_headers(charset: bytes, cte: bytes) -> list[bytes]:
    return [b"Content-Type: text/plain; charset=" + charset, b"Content-Transfer-Encoding: " + cte]


def _plain(pool: Callable[[], textpool.LinePool]) -> _BodyFn:
    def body(rng: random.Random, size: int, _headers: bytes) -> bytes:
        return pool().take(rng, size)

    return body


def _long_line_body(rng: random.Random, size: int, _headers: bytes) -> bytes:
    blob = textpool.base64_pool().take(rng, LONG_LINE_LENGTH + 2000).replace(CRLF, b"")
    line = b"https://track.example.com/c?d=" + blob[: LONG_LINE_LENGTH - 30]
    text = textpool.ascii_pool().take(rng, max(size - len(line), 200))
    cut = text.find(CRLF, len(text) // 2) + 2
    return text[:cut] + line + CRLF + text[cut:]


# -- multipart bodies -----------------------------------------------------------------


def _html(text: bytes) -> bytes:
    paragraphs = text.replace(CRLF + CRLF, b"</p>\r\n<p>")
    return b"<html><body><p>" + paragraphs + b"</p></body></html>\r\n"


def _alternative_parts(rng: random.Random, boundary: bytes, size: int) -> bytes:
    pool = textpool.utf8_pool()
    text = pool.take(rng, size * 2 // 5)
    html = _html(pool.take(rng, size * 3 // 5))
    return (
        b"--" + boundary + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + text + CRLF
        + b"--" + boundary + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + html + CRLF
        + b"--" + boundary + b"--\r\n"
    )  # fmt: skip


def _multipart_headers(subtype: bytes) -> _HeadersFn:
    def headers(rng: random.Random) -> list[bytes]:
        return [b'Content-Type: multipart/%s;\r\n\tboundary="%s"' % (subtype, _boundary(rng))]

    return headers


def _declared_boundary(headers: bytes) -> bytes:
    start = headers.index(b'boundary="') + len(b'boundary="')
    return headers[start : headers.index(b'"', start)]


def _alternative_body(rng: random.Random, size: int, headers: bytes) -> bytes:
    preamble = b"This is a multi-part message in MIME format.\r\n\r\n"
    return preamble + _alternative_parts(rng, _declared_boundary(headers), size)


def _mixed_parts(rng: random.Random, boundary: bytes, size: int, attachments: int) -> bytes:
    text_size = min(3000, max(size // 5, 200))
    if rng.random() < 0.3:
        inner = _boundary(rng)
        first = (
            b'Content-Type: multipart/alternative; boundary="' + inner + b'"\r\n\r\n'
            + _alternative_parts(rng, inner, text_size)
        )  # fmt: skip
    else:
        first = (
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + textpool.utf8_pool().take(rng, text_size)
        )
    parts = [b"--" + boundary + CRLF + first]
    share = max((size - text_size) // attachments, 78)
    for _ in range(attachments):
        header = rng.choice(mailparts.ATTACHMENT_HEADERS)
        parts.append(b"--" + boundary + CRLF + header + textpool.base64_pool().take(rng, share))
    return CRLF.join(parts) + CRLF + b"--" + boundary + b"--\r\n"


def _mixed_body(rng: random.Random, size: int, headers: bytes) -> bytes:
    count = rng.choice((1, 1, 1, 2, 3))
    return _mixed_parts(rng, _declared_boundary(headers), size, count)


def _large_body(rng: random.Random, size: int, headers: bytes) -> bytes:
    return _mixed_parts(rng, _declared_boundary(headers), size, 1)


def _broken_boundary_body(rng: random.Random, size: int, headers: bytes) -> bytes:
    """Parts separated by a boundary other than the declared one."""
    declared = _declared_boundary(headers)
    return _mixed_parts(rng, declared + b"-not-the-same", size, 1)


def _unterminated_body(rng: random.Random, size: int, headers: bytes) -> bytes:
    """A multipart whose last part is cut off mid-line with no closing boundary."""
    whole = _mixed_parts(rng, _declared_boundary(headers), size + 200, 1)
    closing = whole.rindex(b"\r\n--")
    return whole[: max(closing - 37, len(whole) // 2)]


def _eight_bit_header(rng: random.Random, size: int, env: Envelope) -> bytes:
    """Old-school mail: raw UTF-8 in From/Subject, no MIME headers, Latin-1 body."""
    sender = rng.choice(mailparts.RAW_8BIT_ADDRESSES)
    subject = rng.choice(mailparts.RAW_8BIT_SUBJECTS)
    lines = [b"Date: " + env.date, b"From: " + sender, b"To: " + env.recipient]
    lines.append(b"Subject: " + subject)
    if env.message_id is not None:
        lines.append(b"Message-ID: " + env.message_id)
    head = CRLF.join(lines) + CRLF + CRLF
    return head + textpool.latin1_pool().take(rng, max(size - len(head), 64))


def _fixed(lines: list[bytes]) -> _HeadersFn:
    def headers(_rng: random.Random) -> list[bytes]:
        return lines

    return headers


_BODIES: dict[str, tuple[_HeadersFn, _BodyFn]] = {
    "plain-ascii": (_fixed(_text_headers(b"us-ascii", b"7bit")), _plain(textpool.ascii_pool)),
    "plain-utf8": (_fixed(_text_headers(b"utf-8", b"8bit")), _plain(textpool.utf8_pool)),
    "plain-latin1": (
        _fixed(_text_headers(b"iso-8859-1", b"8bit")),
        _plain(textpool.latin1_pool),
    ),
    "plain-qp": (_fixed(_text_headers(b"utf-8", b"quoted-printable")), _plain(textpool.qp_pool)),
    "long-line": (_fixed(_text_headers(b"us-ascii", b"7bit")), _long_line_body),
    "alternative": (_multipart_headers(b"alternative"), _alternative_body),
    "mixed": (_multipart_headers(b"mixed"), _mixed_body),
    LARGE_KIND: (_multipart_headers(b"mixed"), _large_body),
    "broken-boundary": (_multipart_headers(b"mixed"), _broken_boundary_body),
    "unterminated-multipart": (_multipart_headers(b"mixed"), _unterminated_body),
}
