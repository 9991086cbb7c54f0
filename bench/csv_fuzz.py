"""Bounded fuzz of the users-CSV reader: mutated example files in, rows or refusals out.

Each try takes an example CSV of tests/service/fixtures/csv and mutates it one to four
times (a byte flipped; a quote, separator, NUL, CR, LF or BOM inserted; a run of up to a
megabyte inserted; cut short; a span deleted; lines repeated; separators swapped;
re-encoded as UTF-16/32, Windows-1252 or UTF-8 with BOM), then parses it. It must give
rows, or a CsvValidationError whose every problem names its row (or the file, when it is
about the whole file); anything else is a traceback. Prints the figures; exits 1 if any
traceback or unnamed refusal. tests/service/test_csv_fuzz.py runs the same checks under
Hypothesis.

Run: ``python bench/csv_fuzz.py [--count 10000] [--seed 1] [--worst-cases]``; the last
also times files of about 10 MB built to be slow to read.
"""

from __future__ import annotations

import argparse
import codecs
import random
import re
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from mailferry.service.users_csv.parse import (
    MAX_BYTES,
    CsvProblem,
    CsvProblemCode,
    CsvValidationError,
    parse_users_csv,
)

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "service" / "fixtures" / "csv"

#: Problems about the whole file: they name the file instead of a row.
WHOLE_FILE = frozenset(
    {
        CsvProblemCode.TOO_LARGE,
        CsvProblemCode.UNREADABLE,
        CsvProblemCode.NOT_CSV,
        CsvProblemCode.ENCODING,
        CsvProblemCode.EMPTY_FILE,
        CsvProblemCode.MISSING_COLUMN,  # "... is missing from the CSV file" (Microsoft's words)
        CsvProblemCode.NO_USERS,
        CsvProblemCode.TOO_MANY_ROWS,
        CsvProblemCode.TOO_MANY_PROBLEMS,
    }
)

_INSERTS = (
    b'"', b'""', b",", b";", b"\t", b"\x00", b"\r", b"\n", b"\r\n", b'",', b',"',
    codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b"\xff", b"\xc3", b"sep=;\r\n", b"\xe2\x80\xa8",
)  # fmt: skip
_RUN_BYTES = (b"x", b'"', b",", b";", b"\n", b"\r", b"\x00", b" ", b'""', b"\xc3\xa6")
_RUN_LENGTHS = (100, 16_385, 131_073, 1_048_577)
_TIMES = (2, 3, 50, 1_000)
#: How often line repeats make a file of more than 50,000 rows (slow to check: ~0.5 s).
_MANY_ROWS_ONE_IN = 20
#: Mutations stop growing a file past this (a little over the 10 MB limit, which it tests).
_GROWN = MAX_BYTES + 4096
_ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "utf-8-sig", "latin-1")

Mutation = Callable[[bytes, random.Random, bool], bytes]


def examples() -> list[bytes]:
    """The example files, in name order."""
    return [path.read_bytes() for path in sorted(FIXTURES.glob("*.csv"))]


def _at(data: bytes, rng: random.Random) -> int:
    return rng.randint(0, len(data))


def flip(data: bytes, rng: random.Random, small: bool = False) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    index = rng.randrange(len(data))
    return data[:index] + bytes([data[index] ^ rng.randint(1, 255)]) + data[index + 1 :]


def insert(data: bytes, rng: random.Random, small: bool = False) -> bytes:
    at = _at(data, rng)
    return data[:at] + rng.choice(_INSERTS) + data[at:]


def insert_run(data: bytes, rng: random.Random, small: bool = False) -> bytes:
    if len(data) > _GROWN:
        return data
    at = _at(data, rng)
    lengths = _RUN_LENGTHS[:2] if small else _RUN_LENGTHS
    run = rng.choice(_RUN_BYTES) * (rng.choice(lengths) // 2 + rng.randint(0, 1))
    return data[:at] + run + data[at:]


def truncate(data: bytes, rng: random.Random, small: bool = False) -> bytes:
    return data[: _at(data, rng)]


def delete(data: bytes, rng: random.Random, small: bool = False) -> bytes:
    start = _at(data, rng)
    return data[:start] + data[start + rng.randint(1, 40) :]


def repeat_line(data: bytes, rng: random.Random, small: bool = False) -> bytes:
    lines = data.splitlines(keepends=True)
    if not lines:
        return data
    index = rng.randrange(len(lines))
    times = rng.choice(_TIMES)
    if not small and rng.randrange(_MANY_ROWS_ONE_IN) == 0:
        times = 50_001
    times = max(1, min(times, (_GROWN - len(data)) // len(lines[index])))
    return b"".join([*lines[:index], lines[index] * times, *lines[index + 1 :]])


def swap_separators(data: bytes, rng: random.Random, small: bool = False) -> bytes:
    old, new = rng.sample([b",", b";", b"\t", b"|"], 2)
    at = _at(data, rng)
    return data[:at] + data[at:].replace(old, new)


def reencode(data: bytes, rng: random.Random, small: bool = False) -> bytes:
    text = data.decode(rng.choice(("utf-8", "cp1252", "latin-1")), errors="replace")
    return text.encode(rng.choice(_ENCODINGS), errors="replace")


MUTATIONS: tuple[Mutation, ...] = (
    flip, flip, insert, insert, insert, insert_run, truncate, delete, repeat_line,
    swap_separators, reencode,
)  # fmt: skip


def mutate(data: bytes, rng: random.Random, small: bool = False) -> bytes:
    """``data`` after one to four mutations chosen by ``rng``; ``small`` leaves out the
    slow ones (runs over 16 KB, more than 50,000 rows) for a quick test."""
    for _ in range(rng.randint(1, 4)):
        data = rng.choice(MUTATIONS)(data, rng, small)
    return data


def names_its_place(problem: CsvProblem) -> bool:
    """The reason names the problem's row, or the file if the problem is about all of it."""
    reason = problem.reason.lower()
    if problem.row is not None and re.search(rf"\brow {problem.row}\b", reason):
        return True
    return problem.code in WHOLE_FILE and "file" in reason


def unnamed_problems(error: CsvValidationError) -> list[CsvProblem]:
    return [problem for problem in error.problems if not names_its_place(problem)]


def worst_cases() -> dict[str, bytes]:
    """Files of about 10 MB that are slow to read, one kind of slowness each."""
    header = b"EmailAddress,UserName,Password\r\n"
    users = b"".join(b"user%d@contoso.com,user%d,Secret-%d\r\n" % (i, i, i) for i in range(50_000))
    size = MAX_BYTES - len(header)
    return {
        "50,000 valid users": header + users,
        "5 million one-value rows": header + b"a\n" * (size // 2),
        "10 million empty lines": b"\n" * MAX_BYTES,
        "2.6 million ;; rows": b";;\r\n" * (MAX_BYTES // 4),
        "one value of doubled quotes": header + b'a@contoso.com,a,"' + b'a""' * (size // 3 - 8),
        "one line of 10 million commas": header + b"," * size,
        "2.6 million quoted values, one line": header.replace(b",", b";") + b'"a";' * (size // 4),
        "unclosed quote, 1 million lines": header + b'a@contoso.com,a,"p\r\n' + b"x\n" * 1_000_000,
    }


def time_worst_cases() -> None:
    for name, data in worst_cases().items():
        began = time.process_time()
        try:
            outcome = f"{len(parse_users_csv(data)):,} users"
        except CsvValidationError as error:
            outcome = f"refused, {len(error.problems):,} problem(s)"
        seconds = time.process_time() - began
        print(f"  {name:<36} {len(data):>11,} bytes  {seconds:5.2f} CPU s  {outcome}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="mutated files to try")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worst-cases", action="store_true", help="also time 10 MB worst cases")
    args = parser.parse_args()
    if args.worst_cases:
        print("worst cases (CPU time to parse):")
        time_worst_cases()
    rng = random.Random(args.seed)
    sources = examples()
    accepted = refused = tracebacks = unnamed = 0
    slowest, slowest_size = 0.0, 0
    started = time.perf_counter()
    for attempt in range(args.count):
        data = mutate(rng.choice(sources), rng)
        began = time.process_time()
        try:
            parse_users_csv(data)
        except CsvValidationError as error:
            refused += 1
            bad = unnamed_problems(error)
            if bad:
                unnamed += 1
                print(f"try {attempt}: unnamed {[p.reason for p in bad][:3]}", file=sys.stderr)
        except Exception:
            tracebacks += 1
            print(f"try {attempt} ({len(data):,} bytes): {traceback.format_exc()}", file=sys.stderr)
        else:
            accepted += 1
        cpu = time.process_time() - began
        if cpu > slowest:
            slowest, slowest_size = cpu, len(data)
    seconds = time.perf_counter() - started
    print(f"files tried:        {args.count:,} (seed {args.seed})")
    print(f"accepted:           {accepted:,}")
    print(f"refused:            {refused:,}")
    print(f"tracebacks:         {tracebacks:,}")
    print(f"unnamed refusals:   {unnamed:,}")
    print(f"time taken:         {seconds:.1f} s")
    print(f"slowest file:       {slowest:.2f} CPU s ({slowest_size:,} bytes)")
    return 1 if tracebacks or unnamed else 0


if __name__ == "__main__":
    sys.exit(main())
