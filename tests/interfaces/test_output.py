"""Records rendered as PowerShell-style tables and lists, JSON and JSON lines."""

from __future__ import annotations

import io
import json
from typing import Any

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailferry.interfaces.cli.output import (
    PropertyError,
    display_value,
    emit,
    render,
    select_properties,
    split_patterns,
)

ENDPOINT: dict[str, Any] = {
    "Identity": "IMAPEndpoint",
    "EndpointType": "IMAP",
    "RemoteServer": "imap.contoso.com",
    "Port": 993,
    "Security": "Ssl",
    "Authentication": "Basic",
    "MaxConcurrentMigrations": 20,
    "MaxConcurrentIncrementalSyncs": 10,
    "AcceptUntrustedCertificates": False,
}

BATCHES: list[dict[str, Any]] = [
    {"Identity": "IMAPBatch1", "Status": "Syncing", "TotalCount": 12, "Error": None},
    {"Identity": "B2", "Status": "SyncedWithErrors", "TotalCount": 3, "Error": "2 users failed"},
]


# --- select_properties --------------------------------------------------------------------


def test_no_pattern_keeps_every_property_in_order() -> None:
    assert list(select_properties(ENDPOINT, [])) == list(ENDPOINT)


def test_the_articles_comma_list_with_a_wildcard() -> None:
    chosen = select_properties(ENDPOINT, ["EndpointType,RemoteServer,Port,Security,Max*"])
    assert chosen == {
        "EndpointType": "IMAP",
        "RemoteServer": "imap.contoso.com",
        "Port": 993,
        "Security": "Ssl",
        "MaxConcurrentMigrations": 20,
        "MaxConcurrentIncrementalSyncs": 10,
    }


def test_matching_is_case_insensitive_and_question_mark_is_one_character() -> None:
    assert list(select_properties(ENDPOINT, ["port", "SECURIT?"])) == ["Port", "Security"]
    assert select_properties(ENDPOINT, ["Por?"]) == {"Port": 993}
    with pytest.raises(PropertyError):
        select_properties(ENDPOINT, ["Po?"])


def test_order_follows_the_patterns_and_a_key_is_shown_once() -> None:
    chosen = select_properties(ENDPOINT, ["Security, Port", "*Port*", " Identity "])
    assert list(chosen) == ["Security", "Port", "Identity"]


def test_a_pattern_matching_nothing_is_fine_when_another_matches() -> None:
    assert select_properties(ENDPOINT, ["Status,Port", "Nope*"]) == {"Port": 993}


def test_nothing_matching_raises_a_usage_error_listing_the_properties() -> None:
    with pytest.raises(PropertyError) as caught:
        select_properties(ENDPOINT, ["Status,Err*"])
    assert isinstance(caught.value, click.UsageError)
    assert "Status, Err*" in caught.value.message
    assert "Available properties: Identity, EndpointType, RemoteServer" in caught.value.message
    assert caught.value.available == tuple(ENDPOINT)


def test_regex_characters_in_a_pattern_are_literal() -> None:
    record = {"A.B": 1, "AxB": 2}
    assert select_properties(record, ["A.B"]) == {"A.B": 1}


def test_split_patterns_drops_blanks() -> None:
    assert split_patterns(["a,,b", " ", "c ,"]) == ["a", "b", "c"]


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, ""),
        (True, "True"),
        (False, "False"),
        (0, "0"),
        (1.5, "1.5"),
        ("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"),
        (["Deleted Items", "Junk Email"], "{Deleted Items, Junk Email}"),
        ([], "{}"),
        ({"Step": "tcp", "Ok": True}, "@{Step=tcp; Ok=True}"),
        ([{"Subject": "hi", "Size": None}], "{@{Subject=hi; Size=}}"),
    ],
)
def test_display_value(value: Any, shown: str) -> None:
    assert display_value(value) == shown


# --- list ---------------------------------------------------------------------------------


def test_list_pads_names_to_the_longest_and_separates_records() -> None:
    text = render(BATCHES, "list")
    assert text == (
        "Identity   : IMAPBatch1\n"
        "Status     : Syncing\n"
        "TotalCount : 12\n"
        "Error      :\n"
        "\n"
        "Identity   : B2\n"
        "Status     : SyncedWithErrors\n"
        "TotalCount : 3\n"
        "Error      : 2 users failed"
    )


def test_list_with_properties_and_lists_and_booleans() -> None:
    record = {"Name": "b", "ExcludedFolders": ["Deleted Items", "Junk Email"], "AutoStart": True}
    assert render([record], "list", ["Excl*,Auto*"]) == (
        "ExcludedFolders : {Deleted Items, Junk Email}\nAutoStart       : True"
    )


def test_list_indents_continuation_lines_under_the_value() -> None:
    text = render([{"Status": "Failed", "Report": "line one\nline two"}], "list")
    assert text.splitlines() == ["Status : Failed", "Report : line one", "         line two"]


# --- table --------------------------------------------------------------------------------


def test_table_has_a_header_dashes_and_right_aligned_numbers() -> None:
    lines = render(BATCHES, "table").splitlines()
    assert lines == [
        "Identity   Status           TotalCount Error",
        "--------   ------           ---------- -----",
        "IMAPBatch1 Syncing                  12",
        "B2         SyncedWithErrors          3 2 users failed",
    ]


def test_table_columns_are_the_union_of_the_records_keys() -> None:
    lines = render([{"A": "x"}, {"A": "y", "B": "z"}], "table").splitlines()
    assert lines[0] == "A B"
    assert lines[2:] == ["x", "y z"]


def test_table_truncates_long_cells_with_an_ellipsis_to_fit_the_width() -> None:
    records = [{"Name": "short", "Error": "e" * 300}]
    lines = render(records, "table", width=60).splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[2].startswith("short ")
    assert lines[2].endswith("e…")
    assert max(len(line) for line in render(records, "table").splitlines()) == 120


def test_a_single_column_table_is_never_truncated() -> None:
    lines = render([{"Error": "e" * 300}], "table", width=40).splitlines()
    assert lines[2] == "e" * 300


def test_table_puts_multi_line_values_on_one_line() -> None:
    lines = render([{"A": "x\ny"}], "table").splitlines()
    assert lines[2] == "x y"


def test_no_records_render_as_nothing_or_an_empty_array() -> None:
    assert render([], "table") == ""
    assert render([], "list") == ""
    assert render([], "jsonl") == ""
    assert render([], "json") == "[]"


# --- JSON ---------------------------------------------------------------------------------


def test_json_is_an_array_or_a_single_object() -> None:
    assert json.loads(render(BATCHES, "json")) == BATCHES
    assert json.loads(render([ENDPOINT], "json", single=True)) == ENDPOINT
    assert json.loads(render([ENDPOINT], "json")) == [ENDPOINT]


def test_single_with_other_than_one_record_stays_an_array() -> None:
    assert json.loads(render(BATCHES, "json", single=True)) == BATCHES
    assert render([], "json", single=True) == "[]"


def test_json_applies_properties_and_keeps_unicode() -> None:
    text = render([{"Name": "Ünïcode", "Port": 1}], "json", ["Name"], single=True)
    assert text == '{\n  "Name": "Ünïcode"\n}'


def test_jsonl_is_one_compact_object_per_line() -> None:
    text = render(BATCHES, "jsonl", ["Identity,Status"])
    assert text.splitlines() == [
        '{"Identity":"IMAPBatch1","Status":"Syncing"}',
        '{"Identity":"B2","Status":"SyncedWithErrors"}',
    ]


def test_jsonl_escapes_unicode_line_separators_and_keeps_other_text() -> None:
    text = render([{"Subject": "a\u2028b\x85c", "Name": "Zoë"}], "jsonl")
    assert text == '{"Subject":"a\\u2028b\\u0085c","Name":"Zoë"}'
    assert len(text.splitlines()) == 1
    assert json.loads(text) == {"Subject": "a\u2028b\x85c", "Name": "Zoë"}


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format 'yaml'"):
        render(BATCHES, "yaml")


def test_emit_writes_the_text_and_a_newline_or_nothing() -> None:
    stream = io.StringIO()
    emit([ENDPOINT], "json", ["Port"], single=True, stream=stream)
    assert stream.getvalue() == '{\n  "Port": 993\n}\n'
    empty = io.StringIO()
    emit([], "table", [], single=False, stream=empty)
    assert empty.getvalue() == ""


def test_emit_raises_the_property_error_for_the_caller_to_show() -> None:
    with pytest.raises(PropertyError):
        emit(BATCHES, "list", ["Nope"], single=False, stream=io.StringIO())


# --- properties that hold for any records -------------------------------------------------

keys = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij", min_size=1, max_size=12)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.text(max_size=60),
    st.lists(st.text(max_size=10), max_size=4),
)
records = st.lists(st.dictionaries(keys, values, min_size=1, max_size=6), max_size=5)


@given(records)
def test_jsonl_round_trips(rows: list[dict[str, Any]]) -> None:
    text = render(rows, "jsonl")
    assert [json.loads(line) for line in text.splitlines()] == rows  # no stray line breaks


@given(records, st.integers(min_value=40, max_value=200))
def test_table_lines_fit_the_width_and_rows_match_records(
    rows: list[dict[str, Any]], width: int
) -> None:
    text = render(rows, "table", width=width)
    lines = text.split("\n")
    columns = {key for row in rows for key in row}
    if not rows:
        assert text == ""
        return
    assert len(lines) == 2 + len(rows)
    if len(columns) > 1 and len(columns) * 5 - 1 <= width:  # fits at the 4-character floor
        assert all(len(line) <= width for line in lines)
