"""The -ContentFilter parser: what it accepts, the window it builds, and the exact words of
every refusal (an administrator reads them; the character positions are 1-based)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mailferry.errors import ContentFilterError, MailferryError
from mailferry.values.content_filter import ReceivedWindow, parse_content_filter, scope_text

UTC = dt.UTC


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def window(after: dt.datetime | None, after_in: bool, before: dt.datetime | None = None,
           before_in: bool = False) -> ReceivedWindow:  # fmt: skip
    return ReceivedWindow(after, after_in, before, before_in)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Received -gt '8/23/2020'", window(at(2020, 8, 23), False)),
        ("Received -ge '2020-01-01' -and Received -lt '2021-01-01'",
         window(at(2020, 1, 1), True, at(2021, 1, 1))),
        ('received -LE "2020-06-01T12:30"', window(None, False, at(2020, 6, 1, 12, 30), True)),
        ("Received -lt '2020-06-01 12:30:15'", window(None, False, at(2020, 6, 1, 12, 30, 15))),
        ("Received -ge '2020-06-01T12:30:15+02:00'", window(at(2020, 6, 1, 10, 30, 15), True)),
        ("Received -ge '2020-06-01T12:30:15Z'", window(at(2020, 6, 1, 12, 30, 15), True)),
        ("Received -gt '5/5/2020'", window(at(2020, 5, 5), False)),
        ("Received -gt '12/31/2020 23:59'", window(at(2020, 12, 31, 23, 59), False)),
        ("  Received   -gt\t\u20182020-01-01\u2019  ", window(at(2020, 1, 1), False)),
        # two bounds on one side: the stricter one wins (at equal times, the exclusive one)
        ("Received -ge '2020-01-01' -and Received -gt '2020-01-01' -and "
         "Received -lt '2021-01-01' -and Received -le '2020-06-01'",
         window(at(2020, 1, 1), False, at(2020, 6, 1), True)),
        ("Received -gt '2019-01-01' -AND Received -ge '2020-01-01'", window(at(2020, 1, 1), True)),
    ],
)  # fmt: skip
def test_accepted_filters_build_the_window(text: str, expected: ReceivedWindow) -> None:
    found = parse_content_filter(text)
    assert found == expected
    assert parse_content_filter(found.text()) == found


def test_the_canonical_text_uses_iso_dates_and_utc_times() -> None:
    window = parse_content_filter(
        "Received -gt '8/23/2020' -and Received -le '2021-03-04 05:06+01:00'"
    )
    assert window.text() == "Received -gt '2020-08-23' -and Received -le '2021-03-04T04:06:00Z'"
    assert scope_text(window) == window.text()
    assert scope_text(None) == ""


E = "Received -ge '2020-01-01' -and Received -lt '2021-01-01'"  # the example in messages


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"the content filter is empty; expected e.g. {E}"),
        ("   \t", f"the content filter is empty; expected e.g. {E}"),
        ("Subject -gt 'x'",
         "only the property Received can be filtered on, not Subject (at character 1)"),
        ("Received -eq '3/3/2021'",
         "-eq is not supported (at character 10): no message is received at exactly a date; "
         "for one day write Received -ge '2021-03-03' -and Received -lt '2021-03-04'"),
        ("Received -ne '2020-01-01'",
         "unknown operator -ne at character 10: use -gt, -ge, -lt or -le"),
        ("Received -gt '2020-01-01' -or Received -lt '2019-01-01'",
         "-or is not supported (at character 27): a filter is one Received window, its "
         f"conditions joined with -and, e.g. {E}"),
        ("-not Received -gt '2020-01-01'",
         "-not is not supported (at character 1): say which times to migrate with -gt, -ge, "
         "-lt or -le"),
        ("(Received -gt '2020-01-01')",
         "parentheses are not supported (at character 1): write the conditions joined with "
         f"-and, e.g. {E}"),
        ("{Received -gt '2020-01-01'}",
         f"braces are not supported (at character 1): give the filter as text, e.g. {E}"),
        ("Received -gt 2020-01-01",
         "the date at character 14 must be in quotes: Received -gt '2020-01-01'"),
        ("Received -gt '2020-01-01", "the quote at character 14 is never closed"),
        ("Received",
         "the filter ends after 'Received': expected an operator (-gt, -ge, -lt or -le)"),
        ("Received -gt",
         "the filter ends after '-gt': expected a quoted date such as '2020-08-23'"),
        ("Received -gt -and", "expected a quoted date at character 14, found -and"),
        ("Received -gt '2020-01-01' -and",
         "the filter ends after '-and' (at character 27): expected another condition such as "
         "Received -lt '2021-01-01'"),
        ("Received -gt '2020-01-01' Received -lt '2021-01-01'",
         "expected -and at character 27, found Received"),
        ("Received -gt 'yesterday'",
         "'yesterday' at character 14 is not a date: write yyyy-mm-dd (optionally with "
         "THH:MM[:SS]) or M/d/yyyy"),
        ("Received -gt '2020-13-01'",
         "'2020-13-01' at character 14 is not a valid date: there is no month 13"),
        ("Received -gt '2021-02-29'",
         "'2021-02-29' at character 14 is not a valid date: February 2021 has no day 29"),
        ("Received -gt '2020-01-01T24:00'",
         "'2020-01-01T24:00' at character 14 is not a valid date: there is no time 24:00:00"),
        ("Received -gt '3/4/2020'",
         "'3/4/2020' at character 14 is ambiguous: write '2020-03-04' for 4 March 2020 "
         "(M/d/yyyy, as Exchange reads it) or '2020-04-03' for 3 April 2020 (d/M/yyyy)"),
        ("Received -lt '12/1/2020 08:00'",
         "'12/1/2020 08:00' at character 14 is ambiguous: write '2020-12-01 08:00' for "
         "1 December 2020 (M/d/yyyy, as Exchange reads it) or '2020-01-12 08:00' for "
         "12 January 2020 (d/M/yyyy)"),
        ("Received -gt '23/8/2020'",
         "'23/8/2020' at character 14 is not a M/d/yyyy date (there is no month 23); "
         "for 23 August 2020 write '2020-08-23'"),
        ("Received -gt '2021-01-01' -and Received -lt '2020-01-01'",
         "the filter admits no message: its start (Received -gt '2021-01-01') is not before "
         "its end (Received -lt '2020-01-01')"),
        ("Received -ge '2021-01-01' -and Received -le '2021-01-01'",
         "the filter admits no message: its start (Received -ge '2021-01-01') is not before "
         "its end (Received -le '2021-01-01')"),
    ],
)  # fmt: skip
def test_refusals_say_what_is_wrong_and_where(text: str, message: str) -> None:
    with pytest.raises(ContentFilterError) as caught:
        parse_content_filter(text)
    assert caught.value.reason == str(caught.value) == message
    assert isinstance(caught.value, MailferryError) and not caught.value.transient


def test_admits_honours_inclusive_and_exclusive_bounds() -> None:
    window = parse_content_filter("Received -gt '2020-01-01' -and Received -le '2020-12-31'")
    assert not window.admits(at(2020, 1, 1))
    assert window.admits(at(2020, 1, 1, 0, 0, 1))
    assert window.admits(at(2020, 12, 31))
    assert not window.admits(at(2020, 12, 31, 0, 0, 1))
    inclusive = parse_content_filter("Received -ge '2020-01-01' -and Received -lt '2020-12-31'")
    assert inclusive.admits(at(2020, 1, 1)) and not inclusive.admits(at(2020, 12, 31))


def test_admits_undated_mail_and_reads_naive_times_as_utc() -> None:
    window = parse_content_filter("Received -ge '2020-06-01'")
    assert window.admits(None)
    assert window.admits(dt.datetime(2020, 6, 1)) and not window.admits(dt.datetime(2020, 5, 31))
    copenhagen = dt.timezone(dt.timedelta(hours=2))
    assert not window.admits(dt.datetime(2020, 6, 1, 1, 0, tzinfo=copenhagen))  # 23:00 UTC
    assert window.admits(dt.datetime(2020, 6, 1, 2, 0, tzinfo=copenhagen))


def test_a_window_needs_aware_bounds_and_at_least_one() -> None:
    with pytest.raises(ValueError, match="naive"):
        ReceivedWindow(dt.datetime(2020, 1, 1), True, None, False)
    with pytest.raises(ValueError, match="start or an end"):
        ReceivedWindow(None, True, None, True)
    plus_two = dt.timezone(dt.timedelta(hours=2))
    window = ReceivedWindow(dt.datetime(2020, 1, 1, 2, tzinfo=plus_two), True, None, False)
    assert window.after == at(2020, 1, 1) and window.after.tzinfo is UTC


_times = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2099, 1, 1), timezones=st.just(UTC)
)


@given(st.none() | _times, st.none() | _times, st.tuples(st.booleans(), st.booleans()))
def test_the_text_parses_back_to_the_same_window(
    lower: dt.datetime | None, upper: dt.datetime | None, flags: tuple[bool, bool]
) -> None:
    assume(lower is not None or upper is not None)
    if lower is not None and upper is not None and lower >= upper:
        with pytest.raises(ContentFilterError, match="admits no message"):
            ReceivedWindow(lower, flags[0], upper, flags[1])
        return
    window = ReceivedWindow(lower, flags[0], upper, flags[1])
    assert parse_content_filter(window.text()) == window
