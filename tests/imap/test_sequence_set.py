"""Sequence sets: expansion, compression and their round trip."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailferry.errors import LocalProtocolError, RemoteProtocolError, ResponseTooLarge
from mailferry.imap.sequence_set import MAX_NUMBER, format_sequence_set, parse_sequence_set


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", (1,)),
        ("1:3,7,9:10", (1, 2, 3, 7, 9, 10)),
        ("3:1", (1, 2, 3)),
        ("304,319:320", (304, 319, 320)),
        ("5,1", (5, 1)),  # server order kept: COPYUID pairs by position
        ("4294967295", (4294967295,)),
        ("7:7", (7,)),
    ],
)
def test_parse(text: str, expected: tuple[int, ...]) -> None:
    assert parse_sequence_set(text) == expected


def test_star_needs_a_maximum() -> None:
    with pytest.raises(RemoteProtocolError, match=r"\*"):
        parse_sequence_set("1:*")
    assert parse_sequence_set("2:*", star=4) == (2, 3, 4)
    assert parse_sequence_set("*", star=9) == (9,)
    assert parse_sequence_set("*:3", star=5) == (3, 4, 5)


@pytest.mark.parametrize(
    "text", ["", "0", "1:0", "a", "1,,2", "1:", ":1", "1:2:3", " 1", "1 ", "-1", "4294967296", "1,"]
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_sequence_set(text)


def test_parse_refuses_huge_expansion() -> None:
    with pytest.raises(ResponseTooLarge):
        parse_sequence_set("1:4294967295")
    with pytest.raises(ResponseTooLarge):
        parse_sequence_set("1:6,10:20", limit=10)
    assert len(parse_sequence_set("1:10", limit=10)) == 10


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        ([3, 1, 2, 7, 9, 10], "1:3,7,9:10"),
        ([5], "5"),
        ([5, 5, 5], "5"),
        ([1, 3, 5], "1,3,5"),
        ([2, 1], "1:2"),
        (range(1, 1001), "1:1000"),
        ([4294967295, 1], "1,4294967295"),
    ],
)
def test_format(numbers: list[int], expected: str) -> None:
    assert format_sequence_set(numbers) == expected


@pytest.mark.parametrize("numbers", [[], [0], [-1, 2], [MAX_NUMBER + 1]])
def test_format_rejects(numbers: list[int]) -> None:
    with pytest.raises(LocalProtocolError):
        format_sequence_set(numbers)


@given(st.sets(st.integers(1, MAX_NUMBER), min_size=1, max_size=50))
def test_round_trip_sparse(numbers: set[int]) -> None:
    assert parse_sequence_set(format_sequence_set(numbers)) == tuple(sorted(numbers))


@given(st.lists(st.tuples(st.integers(1, 5000), st.integers(0, 30)), min_size=1, max_size=20))
def test_round_trip_runs(runs: list[tuple[int, int]]) -> None:
    numbers = {start + i for start, length in runs for i in range(length + 1)}
    text = format_sequence_set(numbers)
    assert parse_sequence_set(text) == tuple(sorted(numbers))
    # compressed: no two adjacent elements could be merged
    bounds = [tuple(int(x) for x in part.split(":")) for part in text.split(",")]
    for left, right in itertools.pairwise(bounds):
        assert right[0] > left[-1] + 1


@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=30))
def test_format_is_canonical(numbers: list[int]) -> None:
    text = format_sequence_set(numbers)
    assert format_sequence_set(parse_sequence_set(text)) == text
