"""Modified UTF-7 (RFC 3501 §5.1.3): vectors, round trips, fallback, oracle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imapclient.imap_utf7 import decode as ic_decode
from imapclient.imap_utf7 import encode as ic_encode

from mailferry.errors import LocalProtocolError
from mailferry.imap.mutf7 import decode, encode, is_valid

# Text without lone surrogates (which have no UTF-16 form).
valid_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]))

VECTORS = [
    ("", b""),
    ("INBOX", b"INBOX"),
    ("Sendt post", b"Sendt post"),
    ("&", b"&-"),
    ("&-", b"&--"),
    ("a&b", b"a&-b"),
    ("Økonomi & Løn", b"&ANg-konomi &- L&APg-n"),
    ("Indbakke/Æbler", b"Indbakke/&AMY-bler"),
    ("Entwürfe", b"Entw&APw-rfe"),
    ("Éléments envoyés", b"&AMk-l&AOk-ments envoy&AOk-s"),
    ("台北", b"&U,BTFw-"),
    ("日本語", b"&ZeVnLIqe-"),
    ("~peter/mail/台北/日本語", b"~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("😀", b"&2D3eAA-"),
    ("a.b/c", b"a.b/c"),
    ("tab\there", b"tab&AAk-here"),
    ("~", b"~"),
]


@pytest.mark.parametrize(("text", "wire"), VECTORS)
def test_known_vectors(text: str, wire: bytes) -> None:
    assert encode(text) == wire
    assert decode(wire) == text
    assert is_valid(wire)


@pytest.mark.parametrize(
    "text",
    ["Økonomi & Løn", "台北", "日本語", "😀🎉 party", "x/&/y", "Åå.Ææ", "&&&", "-&-", " "],
)
def test_round_trip(text: str) -> None:
    assert decode(encode(text)) == text


def test_astral_character_uses_surrogate_pair() -> None:
    wire = encode("\U0001f600")
    assert wire == b"&2D3eAA-"  # D83D DE00 in UTF-16BE
    assert decode(wire) == "\U0001f600"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Økonomi".encode(), "Økonomi"),  # 8-bit UTF-8 from a UTF8=ACCEPT server
        (b"R&D", "R&D"),  # unterminated shift
        (b"&", "&"),
        (b"a&U,BTFw", "a&U,BTFw"),  # unterminated base64
        (b"&U!BTFw-", "&U!BTFw-"),  # character outside the base64 alphabet
        (b"&A-", "&A-"),  # impossible length (6 bits)
        (b"&AA-", "&AA-"),  # odd byte count (UTF-16 needs pairs)
        (b"&2D0-", "&2D0-"),  # lone high surrogate
        (b"\xff\xfe", "\udcff\udcfe"),  # invalid UTF-8 keeps its bytes
    ],
)
def test_invalid_input_falls_back_to_utf8(raw: bytes, expected: str) -> None:
    assert decode(raw) == expected
    assert not is_valid(raw)


def test_fallback_surrogateescape_preserves_bytes() -> None:
    raw = b"caf\xe9"
    assert decode(raw).encode("utf-8", errors="surrogateescape") == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"&Jjo-&Jjo-", "☺☺"),  # null shift
        (b"&AGE-", "a"),  # printable ASCII in base64
        (b"&AGF-", "a"),  # non-zero pad bits
    ],
)
def test_non_canonical_decodes_leniently_but_is_not_valid(raw: bytes, expected: str) -> None:
    assert decode(raw) == expected
    assert not is_valid(raw)


def test_decode_accepts_bytes_like() -> None:
    assert decode(bytearray(b"&ZeVnLIqe-")) == "日本語"
    assert decode(memoryview(b"&-")) == "&"  # type: ignore[arg-type]


def test_lone_surrogate_cannot_be_encoded() -> None:
    with pytest.raises(LocalProtocolError):
        encode("bad\udcff")


@given(valid_text)
def test_round_trip_property(text: str) -> None:
    wire = encode(text)
    assert wire.isascii()
    assert all(0x20 <= b <= 0x7E for b in wire)
    assert decode(wire) == text
    assert is_valid(wire)


@given(valid_text)
def test_matches_imapclient_oracle(text: str) -> None:
    wire = encode(text)
    assert wire == ic_encode(text)
    assert ic_decode(wire) == text


@given(st.binary(max_size=40))
def test_decode_never_raises(raw: bytes) -> None:
    text = decode(raw)
    assert isinstance(text, str)
    if is_valid(raw):
        assert encode(text) == raw


@given(st.text(alphabet="&-ABab+,/0 9\u00e9", max_size=20).map(str.encode))
def test_valid_exactly_when_canonical(raw: bytes) -> None:
    assert is_valid(raw) == (_encode_or_none(decode(raw)) == raw)


def _encode_or_none(text: str) -> bytes | None:
    try:
        return encode(text)
    except LocalProtocolError:
        return None
