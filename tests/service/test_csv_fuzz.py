"""Properties: a mutated example CSV gives rows or problems that each name their row (or
the file), never another exception; and the record splitter reads exactly what Python's
csv reader (strict mode) reads, errors included. bench/csv_fuzz.py runs the first with
10,000 files and the slow mutations too."""

from __future__ import annotations

import csv
import io
import random

from bench.csv_fuzz import examples, mutate, names_its_place
from hypothesis import given, settings
from hypothesis import strategies as st

from mailferry.service.users_csv.parse import CsvProblem, CsvProblemCode, CsvValidationError
from mailferry.service.users_csv.parse import parse_users_csv as parse
from mailferry.service.users_csv.records import Malformed, Record, read_records

EXAMPLES = examples()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXAMPLES), st.randoms(use_true_random=False), st.booleans())
def test_mutated_examples_give_rows_or_named_problems(
    example: bytes, rng: random.Random, allow_unknown: bool
) -> None:
    data = mutate(example, rng, small=True)
    try:
        rows = parse(data, allow_unknown_columns=allow_unknown)
    except CsvValidationError as error:
        assert error.problems
        assert [p.reason for p in error.problems if not names_its_place(p)] == []
    else:
        assert rows
        assert all(row.row >= 2 for row in rows)


def test_the_examples_themselves_are_accepted() -> None:
    assert len(EXAMPLES) == 8
    assert all(len(parse(example)) >= 2 for example in EXAMPLES)


def test_names_its_place_is_strict() -> None:
    row_12 = CsvProblem(12, None, CsvProblemCode.MALFORMED_ROW, "Row 12 has a problem.")
    row_1 = CsvProblem(1, None, CsvProblemCode.MALFORMED_ROW, "Row 12 has a problem.")
    whole = CsvProblem(None, None, CsvProblemCode.NO_USERS, "The CSV file has no users.")
    nameless = CsvProblem(None, None, CsvProblemCode.MALFORMED_ROW, "Something is wrong.")
    assert [names_its_place(p) for p in (row_12, row_1, whole, nameless)] == [
        True,
        False,
        True,
        False,
    ]


PIECES = ['"', '"', '""', ",", ";", "\t", "\r", "\n", "\r\n", "a", "b c", " ", "\0", "é", "\u2028"]


def python_csv(text: str, delimiter: str) -> tuple[list[tuple[int, int, list[str]]], bool]:
    """The non-blank records Python's strict csv reader gives, and whether it stopped on an
    error. Row and line numbers counted as csv_records counts them."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, int, list[str]]] = []
    for row in range(1, len(text) + 2):
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return records, False
        except csv.Error:
            return records, True
        if any(value.strip() for value in fields):
            records.append((row, line, fields))
    raise AssertionError("more records than characters")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join), st.sampled_from(",;\t"))
def test_splitter_reads_what_the_csv_module_reads(text: str, delimiter: str) -> None:
    expected, stopped = python_csv(text, delimiter)
    items = list(read_records(text, delimiter))
    first_bad = next((i.row for i in items if isinstance(i, Malformed)), None)
    records = [(r.row, r.line, r.fields) for r in items if isinstance(r, Record)]
    assert stopped == (first_bad is not None)
    if first_bad is not None:
        records = [r for r in records if r[0] < first_bad]
    assert records == expected
