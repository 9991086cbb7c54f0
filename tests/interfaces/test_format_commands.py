"""``Format-List`` / ``Format-Table``: arguments, stdin records, and the real commands in bash."""

from __future__ import annotations

import io
import json
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mailferry.interfaces.cli.format_commands import (
    FormatArgs,
    FormatArgumentError,
    RecordInputError,
    parse_format_args,
    parse_records,
    run_format,
)

ENDPOINT = {
    "Identity": "IMAPEndpoint",
    "EndpointType": "IMAP",
    "RemoteServer": "imap.contoso.com",
    "Port": 993,
    "Security": "Ssl",
    "Authentication": "Basic",
    "MaxConcurrentMigrations": 20,
    "MaxConcurrentIncrementalSyncs": 10,
}
BATCHES = [
    {"Identity": "IMAPBatch1", "Status": "Syncing", "TotalCount": 12, "Error": None},
    {"Identity": "B2", "Status": "Failed", "TotalCount": 3, "Error": "endpoint unreachable"},
]


def jsonl(*records: dict[str, object]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


# --- arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "properties"),
    [
        ([], ()),
        (["Status"], ("Status",)),
        (["EndpointType,RemoteServer,Port,Security,Max*"],
         ("EndpointType,RemoteServer,Port,Security,Max*",)),
        (["-Property", "Status,Error"], ("Status,Error",)),
        (["-property:Status"], ("Status",)),
        (["-Prop", "Status"], ("Status",)),
        (["Name,Status", "-AutoSize"], ("Name,Status",)),
        (["-autosize", "-Wrap", "Name"], ("Name",)),
        (["Name,", "Status"], ("Name,", "Status")),  # bash splits `Name, Status`
    ],
)  # fmt: skip
def test_arguments_as_powershell_writes_them(argv: list[str], properties: tuple[str]) -> None:
    assert parse_format_args(argv) == FormatArgs(properties=properties)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-Foo"], "unknown parameter -Foo (accepted: -Property, -AutoSize, -Wrap"),
        (["-Property"], "-Property needs a value"),
        (["-Property", "-AutoSize"], "-Property needs a value"),
    ],
)
def test_bad_arguments_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(FormatArgumentError, match=message.replace("(", r"\(")):
        parse_format_args(argv)


def test_help_is_recognised() -> None:
    assert parse_format_args(["Status", "-?"]).help


# --- records on stdin ---------------------------------------------------------------------


def test_json_lines_blank_lines_and_whole_documents_are_read() -> None:
    assert parse_records(jsonl(*BATCHES)) == BATCHES
    assert parse_records("\n" + jsonl(BATCHES[0]) + "\n\n" + jsonl(BATCHES[1])) == BATCHES
    assert parse_records(json.dumps(ENDPOINT, indent=2)) == [ENDPOINT]  # test-server --format json
    assert parse_records(json.dumps(BATCHES, indent=2)) == BATCHES  # --format json
    assert parse_records("") == []
    assert parse_records(" \n\n") == []


def test_a_line_separator_inside_a_value_does_not_split_the_record() -> None:
    record = {"Subject": "a\u2028b\x85c"}
    assert parse_records(json.dumps(record, ensure_ascii=False) + "\n" + jsonl(BATCHES[0])) == [
        record,
        BATCHES[0],
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (jsonl(BATCHES[0]) + "Identity : B2\n", "line 2: not valid JSON"),
        ('{"a": 1}\n\n{"b": \n', "line 3: not valid JSON"),
        ("[1, 2]", "input: expected a JSON object (a record), got int"),
        (jsonl(BATCHES[0]) + '"text"\n', "line 2: expected a JSON object (a record), got str"),
    ],
)
def test_bad_input_names_the_line(text: str, message: str) -> None:
    with pytest.raises(RecordInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_records(text)


# --- the whole command with in-memory streams ---------------------------------------------


def run(fmt: str, argv: list[str], stdin: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    command = "Format-List" if fmt == "list" else "Format-Table"
    code = run_format(command, fmt, argv, io.StringIO(stdin), out, err)
    return code, out.getvalue(), err.getvalue()


def test_format_list_of_the_articles_endpoint_check() -> None:
    code, out, err = run("list", ["EndpointType,RemoteServer,Port,Security,Max*"], jsonl(ENDPOINT))
    assert (code, err) == (0, "")
    assert out == textwrap.dedent("""\
        EndpointType                  : IMAP
        RemoteServer                  : imap.contoso.com
        Port                          : 993
        Security                      : Ssl
        MaxConcurrentMigrations       : 20
        MaxConcurrentIncrementalSyncs : 10
        """)


def test_format_table_with_autosize() -> None:
    code, out, _ = run("table", ["Identity,Status", "-AutoSize"], jsonl(*BATCHES))
    assert code == 0
    assert out.splitlines() == [
        "Identity   Status",
        "--------   ------",
        "IMAPBatch1 Syncing",
        "B2         Failed",
    ]


def test_unknown_property_is_a_usage_error() -> None:
    code, out, err = run("list", ["Nope"], jsonl(ENDPOINT))
    assert (code, out) == (2, "")
    assert err.startswith("Format-List: no property matches Nope. Available properties: Identity")


def test_bad_json_exits_2_with_the_line_number() -> None:
    code, out, err = run("list", [], jsonl(BATCHES[0]) + "oops\n")
    assert (code, out) == (2, "")  # bad input
    assert "Format-List: standard input: line 2: not valid JSON" in err


def test_unknown_argument_exits_2() -> None:
    code, _, err = run("table", ["-GroupBy", "Status"], jsonl(ENDPOINT))
    assert code == 2
    assert err.startswith("Format-Table: unknown parameter -GroupBy")


# --- the installed console scripts, in a real shell ---------------------------------------


def bash(script: str) -> subprocess.CompletedProcess[str]:
    for command in ("Format-List", "Format-Table"):
        assert shutil.which(command), f"{command} not on PATH: run pip install -e /work/main"
    return subprocess.run(
        ["bash", "-c", "set -o pipefail; " + script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_format_list_status_in_bash() -> None:
    line = json.dumps(BATCHES[0]).replace("'", "")
    done = bash(f"printf '%s\\n' '{line}' | Format-List Status")
    assert (done.returncode, done.stdout, done.stderr) == (0, "Status : Syncing\n", "")


def test_format_list_all_and_property_parameter_in_bash() -> None:
    batch = json.dumps(BATCHES[1])
    done = bash(f"echo '{batch}' | Format-List")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Identity   : B2"
    assert "Error      : endpoint unreachable" in done.stdout
    done = bash(f"echo '{batch}' | Format-List -Property Status,Error")
    assert done.stdout == "Status : Failed\nError  : endpoint unreachable\n"


def test_records_emitted_by_a_piped_command_render_in_bash() -> None:
    """The contract: emit(..., "jsonl") on one side of the pipe, Format-List on the other."""
    producer = (
        "import sys; from mailferry.interfaces.cli.output import emit; "
        f"emit([{ENDPOINT!r}], 'jsonl', (), single=False, stream=sys.stdout)"
    )
    wanted = "EndpointType,RemoteServer,Port,Security,Max*"
    done = bash(f'{sys.executable} -c "{producer}" | Format-List {wanted}')
    assert done.returncode == 0, done.stderr
    assert [line.split(" : ")[0].strip() for line in done.stdout.splitlines()] == [
        "EndpointType",
        "RemoteServer",
        "Port",
        "Security",
        "MaxConcurrentMigrations",
        "MaxConcurrentIncrementalSyncs",
    ]


def test_format_table_in_bash_and_an_early_closed_pipe() -> None:
    awk = """'{printf "{\\"Name\\":\\"u%d\\",\\"Status\\":\\"Synced\\"}\\n", $1}'"""
    rows = f"seq 0 49999 | awk {awk}"
    done = bash(f"{rows} | Format-Table Name,Status -AutoSize | head -n 3")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["Name   Status", "----   ------", "u0     Synced"]


def test_empty_stdin_prints_nothing_and_bad_json_fails_in_bash() -> None:
    done = bash("Format-List Status < /dev/null")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    done = bash("printf '{\"a\": 1}\\nnot json\\n' | Format-Table")
    assert done.returncode == 2  # bad input (README: Exit codes)
    assert done.stdout == ""
    assert "line 2: not valid JSON" in done.stderr


def test_the_articles_endpoint_check_end_to_end_in_bash(tmp_path: Path) -> None:
    """SPEC §3: ``mailferry Get-MigrationEndpoint IMAPEndpoint | Format-List ...,Max*``."""
    home = shlex.quote(str(tmp_path))
    done = bash(
        f"export MAILFERRY_HOME={home}; "
        "mailferry New-MigrationEndpoint -IMAP -Name IMAPEndpoint -RemoteServer imap.contoso.com "
        "-Port 143 -Security Tls -MaxConcurrentMigrations 50 -MaxConcurrentIncrementalSyncs 25 "
        "-SkipVerification > /dev/null && "
        "mailferry Get-MigrationEndpoint IMAPEndpoint "
        "| Format-List EndpointType,RemoteServer,Port,Security,Max*"
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == textwrap.dedent("""\
        EndpointType                  : IMAP
        RemoteServer                  : imap.contoso.com
        Port                          : 143
        Security                      : Tls
        MaxConcurrentMigrations       : 50
        MaxConcurrentIncrementalSyncs : 25
        """)
