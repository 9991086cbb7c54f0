"""Exchange cmdlet command lines → native mailferry argv (words split as bash splits them)."""

from __future__ import annotations

import os
import subprocess

import click
import pytest

from mailferry.interfaces.cli.cmdlet_parse import CmdletUsageError, csv_path, split_list
from mailferry.interfaces.cli.cmdlets import CMDLETS, translate_cmdlet

JSONL = ["--format", "jsonl"]


def words(line: str) -> list[str]:
    """The argv bash passes for ``line``: real bash splits it (``$true`` unquoted is empty)."""
    done = subprocess.run(
        ["bash", "-c", "printf '%s\\0' " + line],
        env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"},
        cwd="/",
        capture_output=True,
        check=True,
        text=True,
    )
    return done.stdout.split("\0")[:-1]


def test_words_are_split_by_bash_itself() -> None:
    assert words("""a "b c",'d' -Confirm:$false '$true' x\\y""") == [
        "a", "b c,d", "-Confirm:", "$true", "xy"
    ]  # fmt: skip


# Every command line of SPEC §3, exactly as written there; (line, piped, native argv).
SPEC_LINES = [
    (
        "Test-MigrationServerAvailability -IMAP -RemoteServer imap.contoso.com -Port 993 "
        "-Security Ssl",
        False,
        ["test-server", "--remote-server", "imap.contoso.com", "--port", "993",
         "--security", "Ssl"],
    ),
    (
        "New-MigrationEndpoint -IMAP -Name IMAPEndpoint -RemoteServer imap.contoso.com "
        "-Port 993 -Security Ssl",
        False,
        ["endpoint", "new", "--name", "IMAPEndpoint", "--remote-server", "imap.contoso.com",
         "--port", "993", "--security", "Ssl"],
    ),
    (
        "New-MigrationEndpoint -IMAP -Name IMAPEndpoint -RemoteServer imap.contoso.com "
        "-Port 143 -Security Tls -MaxConcurrentMigrations 50 -MaxConcurrentIncrementalSyncs 25",
        False,
        ["endpoint", "new", "--name", "IMAPEndpoint", "--remote-server", "imap.contoso.com",
         "--port", "143", "--security", "Tls", "--max-concurrent-migrations", "50",
         "--max-concurrent-incremental-syncs", "25"],
    ),
    (  # | Format-List EndpointType,RemoteServer,Port,Security,Max*
        "Get-MigrationEndpoint IMAPEndpoint",
        True,
        ["endpoint", "get", "IMAPEndpoint", *JSONL],
    ),
    (
        "New-MigrationBatch -Name IMAPBatch1 -SourceEndpoint IMAPEndpoint "
        "-CSVData IMAPmigration_1.csv -AutoStart",
        False,
        ["batch", "new", "--name", "IMAPBatch1", "--source-endpoint", "IMAPEndpoint",
         "--csv", "IMAPmigration_1.csv", "--auto-start"],
    ),
    ("Start-MigrationBatch -Identity IMAPBatch1", False, ["batch", "start", "IMAPBatch1"]),
    (  # | Format-List   and   | Format-List Status
        "Get-MigrationBatch -Identity IMAPBatch1",
        True,
        ["batch", "get", "IMAPBatch1", *JSONL],
    ),
    ("Remove-MigrationBatch -Identity IMAPBatch1", False, ["batch", "remove", "IMAPBatch1"]),
    ("Get-MigrationBatch IMAPBatch1", False, ["batch", "get", "IMAPBatch1"]),
]  # fmt: skip

# The reference's and Microsoft's variants, bash quoting included.
VARIANTS = [
    ("Test-MigrationServerAvailability -Imap -RemoteServer imap.contoso.com -Port 143", False,
     ["test-server", "--remote-server", "imap.contoso.com", "--port", "143"]),
    ("Test-MigrationServerAvailability -IMAP -RemoteServer 127.0.0.1 -Port 993 -Security Ssl "
     "-Authentication Plain -AcceptUntrustedCertificates", True,
     ["test-server", "--remote-server", "127.0.0.1", "--port", "993", "--security", "Ssl",
      "--authentication", "Plain", "--accept-untrusted-certificates", "--format", "json"]),
    ("Test-MigrationServerAvailability -Endpoint IMAPEndpoint", False,
     ["test-server", "--endpoint", "IMAPEndpoint"]),
    ("Test-MigrationServerAvailability -Endpoint IMAPEndpoint", True,
     ["test-server", "--endpoint", "IMAPEndpoint", "--format", "json"]),
    ("New-MigrationEndpoint -IMAP -Name E -RemoteServer h -Port 143 -Security Tls "
     "-MaxConcurrentMigrations 50 -MaxConcurrentIncrementalSyncs 10 -Authentication Basic "
     "-AcceptUntrustedCertificates -SkipVerification -Confirm:$false", True,
     ["endpoint", "new", "--name", "E", "--remote-server", "h", "--port", "143", "--security",
      "Tls", "--max-concurrent-migrations", "50", "--max-concurrent-incremental-syncs", "10",
      "--authentication", "Basic", "--accept-untrusted-certificates", "--skip-verification",
      *JSONL]),
    ("Get-MigrationEndpoint", False, ["endpoint", "get"]),
    ("Get-MigrationEndpoint", True, ["endpoint", "get", *JSONL]),
    ("Get-MigrationEndpoint -Type IMAP", False, ["endpoint", "get"]),
    ("Get-MigrationEndpoint -Identity IMAPEndpoint -Type imap", False,
     ["endpoint", "get", "IMAPEndpoint"]),
    ("Set-MigrationEndpoint IMAPEndpoint -MaxConcurrentMigrations 20 "
     "-MaxConcurrentIncrementalSyncs 10", False,
     ["endpoint", "set", "IMAPEndpoint", "--max-concurrent-migrations", "20",
      "--max-concurrent-incremental-syncs", "10"]),
    ("Set-MigrationEndpoint -Identity E -RemoteServer h2 -Port 143 -Security Tls "
     "-Authentication Plain -AcceptUntrustedCertificates '$false' -SkipVerification", True,
     ["endpoint", "set", "E", "--remote-server", "h2", "--port", "143", "--security", "Tls",
      "--authentication", "Plain", "--no-accept-untrusted-certificates",
      "--skip-verification"]),
    ("Set-MigrationEndpoint E '-AcceptUntrustedCertificates:$true'", False,
     ["endpoint", "set", "E", "--accept-untrusted-certificates"]),
    ("Remove-MigrationEndpoint -Identity IMAPEndpoint '-Confirm:$false'", False,
     ["endpoint", "remove", "IMAPEndpoint"]),
    ("Remove-MigrationEndpoint IMAPEndpoint -Confirm:$false", False,  # bash: "-Confirm:"
     ["endpoint", "remove", "IMAPEndpoint"]),
    ("New-MigrationBatch -Name IMAPbatch1 "
     """-CSVData '([IO.File]::ReadAllBytes("C:\\Users\\Admin\\Desktop\\IMAPmigration_1.csv"))' """
     '-SourceEndpoint IMAPEndpoint1 -ExcludeFolders "Deleted Items","Junk Email"', False,
     ["batch", "new", "--name", "IMAPbatch1",
      "--csv", "C:\\Users\\Admin\\Desktop\\IMAPmigration_1.csv",
      "--source-endpoint", "IMAPEndpoint1",
      "--exclude-folders", "Deleted Items", "--exclude-folders", "Junk Email"]),
    ("New-MigrationBatch -Name B -SourceEndpoint E "
     """-CSVData '([System.IO.File]::ReadAllBytes("/srv/csv/users 1.csv"))' -AutoStart""", True,
     ["batch", "new", "--name", "B", "--source-endpoint", "E", "--csv", "/srv/csv/users 1.csv",
      "--auto-start", *JSONL]),
    ("New-MigrationBatch -Name B -SourceEndpoint E "
     "-CSVData '(Get-Content users.csv -Encoding Byte -ReadCount 0)'", False,
     ["batch", "new", "--name", "B", "--source-endpoint", "E", "--csv", "users.csv"]),
    ("New-MigrationBatch -Name B -SourceEndpoint E -CSVData users.csv "
     "-AllowUnknownColumnsInCsv '$true' -IncludeFolders Inbox, 'Sent Items' "
     "-NotificationEmails admin@contoso.com,help@contoso.com "
     "-StartAfter 2026-12-01T18:00:00Z -CompleteAfter '2026-12-08 18:00'", False,
     ["batch", "new", "--name", "B", "--source-endpoint", "E", "--csv", "users.csv",
      "--allow-unknown-columns", "--include-folders", "Inbox", "--include-folders", "Sent Items",
      "--notification-emails", "admin@contoso.com", "--notification-emails", "help@contoso.com",
      "--start-after", "2026-12-01T18:00:00Z", "--complete-after", "2026-12-08 18:00"]),
    ("New-MigrationBatch -Name B -SourceEndpoint E -CSVData users.csv "
     "'-AllowUnknownColumnsInCsv:$false' -ExcludeFolders '@(\"[Gmail]\",\"a, b\")'", False,
     ["batch", "new", "--name", "B", "--source-endpoint", "E", "--csv", "users.csv",
      "--exclude-folders", "[Gmail]", "--exclude-folders", "a, b"]),
    ("New-MigrationBatch -Name B -SourceEndpoint E -CSVData users.csv "
     "-ContentFilter \"Received -gt '8/23/2020'\"", False,
     ["batch", "new", "--name", "B", "--source-endpoint", "E", "--csv", "users.csv",
      "--content-filter", "Received -gt '8/23/2020'"]),
    ("Set-MigrationBatch B -ContentFilter \"Received -ge '2019-01-01'\"", False,
     ["batch", "set", "B", "--content-filter", "Received -ge '2019-01-01'"]),
    ("Stop-MigrationBatch IMAPBatch1 -Confirm:$false", False, ["batch", "stop", "IMAPBatch1"]),
    ("Complete-MigrationBatch -Identity IMAPBatch1", True,
     ["batch", "complete", "IMAPBatch1", *JSONL]),
    ("Remove-MigrationBatch -Identity IMAPBatch1 -Force -Confirm:$false", False,
     ["batch", "remove", "IMAPBatch1", "--force"]),
    ("Get-MigrationBatch", True, ["batch", "get", *JSONL]),
    ("Get-MigrationBatch -Status Synced -Endpoint IMAPEndpoint -ResultSize Unlimited", False,
     ["batch", "get", "--status", "Synced", "--endpoint", "IMAPEndpoint"]),
    ("Set-MigrationBatch -Identity IMAPBatch1 -SyncNow", True, ["batch", "sync-now", "IMAPBatch1"]),
    ("Set-MigrationBatch IMAPBatch1 -AddUsers -CSVData more.csv '-AllowUnknownColumnsInCsv:$true'",
     False, ["batch", "add-users", "IMAPBatch1", "--csv", "more.csv", "--allow-unknown-columns"]),
    ("Set-MigrationBatch -Identity B -StartAfter 2026-12-01T18:00 -CompleteAfter 2026-12-09 "
     "-NotificationEmails a@x.org -ExcludeFolders Junk -IncludeFolders Inbox,Archive", False,
     ["batch", "set", "B", "--start-after", "2026-12-01T18:00", "--complete-after",
      "2026-12-09", "--notification-emails", "a@x.org", "--exclude-folders", "Junk",
      "--include-folders", "Inbox", "--include-folders", "Archive"]),
    ("Get-MigrationUser", True, ["user", "get", *JSONL]),
    ("Get-MigrationUser terry@contoso.com", False, ["user", "get", "terry@contoso.com"]),
    ("Get-MigrationUser -EmailAddress terry@contoso.com", False,
     ["user", "get", "terry@contoso.com"]),
    ("Get-MigrationUser -BatchId IMAPBatch1 -Status Failed -ResultSize unlimited", True,
     ["user", "get", "--batch", "IMAPBatch1", "--status", "Failed", *JSONL]),
    ("Get-MigrationUser -BatchId B -Status IncrementalSynced -ResultSize 50", False,
     ["user", "get", "--batch", "B", "--status", "IncrementalSynced", "--result-size", "50"]),
    ("Get-MigrationUser -StatusSummary Active", False,
     ["user", "get", "--status-summary", "Active"]),
    ("Get-MigrationBatch -ResultSize 5", False, ["batch", "get", "--result-size", "5"]),
    ("Get-MigrationStatistics", True, ["statistics", *JSONL]),
    ("Get-MigrationConfig", False, ["config", "get"]),
    ("Set-MigrationConfig -MaxNumberOfBatches 10 -ReportIntervalHours 12", False,
     ["config", "set", "--max-number-of-batches", "10", "--report-interval-hours", "12"]),
    ("Get-MigrationUserStatistics -Identity terry@contoso.com -IncludeSkippedItems", True,
     ["user", "stats", "terry@contoso.com", "--include-skipped-items", *JSONL]),
    ("Get-MigrationUserStatistics terry@contoso.com", False,
     ["user", "stats", "terry@contoso.com"]),
    ("Get-MigrationUserStatistics terry@contoso.com -IncludeSkippedItems "
     "-LimitSkippedItemsTo 10 -IncludeReport", False,
     ["user", "stats", "terry@contoso.com", "--include-skipped-items",
      "--limit-skipped-items-to", "10", "--include-report"]),
    ("Set-MigrationUser -Identity terry@contoso.com -SyncNow", False,
     ["user", "sync-now", "terry@contoso.com"]),
    # Per-user control (Exchange's Stop-/Start-/Remove-MigrationUser).
    ("Stop-MigrationUser -Identity terry@contoso.com", False,
     ["user", "stop", "terry@contoso.com"]),
    ("Stop-MigrationUser terry@contoso.com -Confirm:$false", True,
     ["user", "stop", "terry@contoso.com", *JSONL]),
    ("Start-MigrationUser -Identity terry@contoso.com '-Confirm:$false'", False,
     ["user", "start", "terry@contoso.com"]),
    ("Remove-MigrationUser -Identity terry@contoso.com -Confirm:$false", False,
     ["user", "remove", "terry@contoso.com"]),
    ("remove-migrationuser terry@contoso.com -Force -Confirm:$false", False,
     ["user", "remove", "terry@contoso.com", "--force"]),
    # PowerShell is case-insensitive and takes unique prefixes and -Name:value.
    ("get-migrationbatch -identity IMAPBatch1", False, ["batch", "get", "IMAPBatch1"]),
    ("GET-MIGRATIONBATCH -IDENTITY IMAPBatch1", False, ["batch", "get", "IMAPBatch1"]),
    ("new-migrationendpoint -imap -name:E -rem h -port:993", False,
     ["endpoint", "new", "--name", "E", "--remote-server", "h", "--port", "993"]),
]  # fmt: skip


@pytest.mark.parametrize(("line", "piped", "native"), SPEC_LINES)
def test_every_spec_command_line_translates(line: str, piped: bool, native: list[str]) -> None:
    assert translate_cmdlet(words(line), piped=piped) == native


@pytest.mark.parametrize(("line", "piped", "native"), VARIANTS)
def test_article_variants_translate(line: str, piped: bool, native: list[str]) -> None:
    assert translate_cmdlet(words(line), piped=piped) == native


def test_spec_lines_without_a_pipe_use_the_default_format() -> None:
    for line, _, native in SPEC_LINES:
        translated = translate_cmdlet(words(line), piped=False)
        assert translated is not None
        assert "--format" not in translated
        assert translated == [word for word in native if word not in JSONL]


def test_every_cmdlet_named_in_the_spec_is_known() -> None:
    named = [
        "Test-MigrationServerAvailability",
        *(f"{verb}-MigrationEndpoint" for verb in ("New", "Get", "Set", "Remove")),
        *(
            f"{verb}-MigrationBatch"
            for verb in ("New", "Get", "Set", "Start", "Stop", "Complete", "Remove")
        ),
        "Get-MigrationUser",
        "Get-MigrationUserStatistics",
        "Set-MigrationUser",
    ]
    per_user = [f"{verb}-MigrationUser" for verb in ("Stop", "Start", "Remove")]  # beyond §3
    tenant = ["Get-MigrationStatistics", "Get-MigrationConfig", "Set-MigrationConfig"]
    known = sorted(cmdlet.name for cmdlet in CMDLETS.values())
    assert set(named + per_user) <= set(known) <= set(named + per_user + tenant)


@pytest.mark.parametrize("argv", [[], ["batch", "get"], ["migrate"], ["Get-Mailbox"], ["--help"]])
def test_anything_else_is_left_to_click(argv: list[str]) -> None:
    assert translate_cmdlet(argv, piped=True) is None


@pytest.mark.parametrize(
    ("line", "native"),
    [
        ("New-MigrationBatch -?", ["batch", "new", "--help"]),
        ("Set-MigrationBatch -Identity B -?", ["batch", "set", "--help"]),
        ("Test-MigrationServerAvailability --help", ["test-server", "--help"]),
    ],
)
def test_help_shows_the_native_commands_help(line: str, native: list[str]) -> None:
    assert translate_cmdlet(words(line), piped=False) == native


def test_a_quoted_true_after_a_switch_colon_works() -> None:
    argv = [
        *words("New-MigrationBatch -Name B -SourceEndpoint E -CSVData u.csv"),
        "-AutoStart:$true",
    ]
    assert translate_cmdlet(argv, piped=False) == [
        "batch", "new", "--name", "B", "--source-endpoint", "E", "--csv", "u.csv", "--auto-start"
    ]  # fmt: skip
    argv[-1] = "-AutoStart:$false"
    assert "--auto-start" not in (translate_cmdlet(argv, piped=False) or [])


ERRORS = [
    ("New-MigrationEndpoint -Name E -RemoteServer h -Foo 1",
     "New-MigrationEndpoint: unknown parameter -Foo (accepted: -Imap, -Name, -RemoteServer, "
     "-Port, -Security, -Authentication, -MaxConcurrentMigrations"),
    ("New-MigrationEndpoint -RemoteServer h", "missing required parameter -Name"),
    ("New-MigrationEndpoint -Name E -RemoteServer", "parameter -RemoteServer needs a value"),
    ("New-MigrationEndpoint -Name -RemoteServer h", "parameter -Name needs a value"),
    ("New-MigrationEndpoint -Name E -RemoteServer h -Max 5",
     "parameter -Max is ambiguous: -MaxConcurrentMigrations, -MaxConcurrentIncrementalSyncs"),
    ("New-MigrationEndpoint -Name E -Name F -RemoteServer h",
     "parameter -Name was given more than once"),
    ("New-MigrationEndpoint E -RemoteServer h", "unexpected argument 'E'"),
    ("New-MigrationEndpoint -Name E -RemoteServer h -WhatIf", "-WhatIf is not supported"),
    ("Remove-MigrationBatch -Identity B -WhatIf:$true", "-WhatIf is not supported"),
    ("Get-MigrationBatch B --format json", "native option --format can't be mixed"),
    ("Get-MigrationBatch B C", "unexpected argument 'C'"),
    ("Get-MigrationBatch B -Identity C", "parameter -Identity was given more than once"),
    ("Get-MigrationBatch -ResultSize ten", "-ResultSize 'ten': give a number of at least 1"),
    ("Get-MigrationUser -ResultSize 0", "-ResultSize '0': give a number of at least 1"),
    ("Start-MigrationBatch", "missing required parameter -Identity (or as the first argument)"),
    ("Get-MigrationUserStatistics -IncludeSkippedItems", "missing required parameter -Identity"),
    ("New-MigrationBatch -Name B -SourceEndpoint E", "missing required parameter -CSVData"),
    ("New-MigrationBatch -Name B -SourceEndpoint E -CSVData u.csv -AllowUnknownColumnsInCsv "
     "-AutoStart", "parameter -AllowUnknownColumnsInCsv needs a value"),
    ("New-MigrationBatch -Name B -SourceEndpoint E -CSVData u.csv -AllowUnknownColumnsInCsv:$true",
     "-AllowUnknownColumnsInCsv has an empty value: the shell replaced $true/$false"),
    ("New-MigrationBatch -Name B -SourceEndpoint E -CSVData u.csv -AllowUnknownColumnsInCsv maybe",
     "-AllowUnknownColumnsInCsv takes $true or $false, not 'maybe'"),
    ("New-MigrationBatch -Name B -SourceEndpoint E -CSVData u.csv -AutoStart:$false",
     "-AutoStart has an empty value"),
    ("New-MigrationBatch -Name B -SourceEndpoint E -CSVData u.csv -ExcludeFolders ,",
     "parameter -ExcludeFolders needs a value"),
    ("New-MigrationBatch -Name B -SourceEndpoint E -CSVData ''",
     "parameter -CSVData needs a value"),
    ("Set-MigrationEndpoint E -AcceptUntrustedCertificates", "needs a value"),
    ("Get-MigrationEndpoint -Type ExchangeRemoteMove", "mailferry has only IMAP endpoints"),
    ("Test-MigrationServerAvailability -IMAP", "give -RemoteServer"),
    ("Test-MigrationServerAvailability -Endpoint E -RemoteServer h -Port 1",
     "-RemoteServer, -Port can't be combined with -Endpoint"),
    ("Set-MigrationBatch B -SyncNow -StartAfter 2026-12-01",
     "-StartAfter can't be combined with -SyncNow"),
    ("Set-MigrationBatch B -AddUsers", "-AddUsers needs -CSVData"),
    ("Set-MigrationBatch B -AddUsers -CSVData u.csv -ExcludeFolders Junk",
     "-ExcludeFolders can't be combined with -AddUsers"),
    ("Set-MigrationBatch B -CSVData u.csv", "-CSVData is used with -AddUsers"),
    ("Set-MigrationUser -Identity terry@contoso.com", "only -SyncNow is supported"),
    ("Get-MigrationUser -Identity a@x -EmailAddress b@x", "give -Identity or -EmailAddress"),
    ("Remove-MigrationUser -Force", "missing required parameter -Identity (or as the first"),
    ("Stop-MigrationUser a@x -WhatIf", "-WhatIf is not supported"),
    ("Remove-MigrationUser a@x -Force:maybe", "-Force takes $true or $false, not 'maybe'"),
    ("Start-MigrationUser a@x -Force", "unknown parameter -Force (accepted: -Identity"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "message"), ERRORS)
def test_errors_name_the_cmdlet_and_the_problem(line: str, message: str) -> None:
    with pytest.raises(CmdletUsageError) as caught:
        translate_cmdlet(words(line), piped=False)
    assert message in caught.value.message
    assert caught.value.message.startswith(caught.value.cmdlet + ": ")


def test_the_error_is_a_click_usage_error_with_exit_code_2() -> None:
    with pytest.raises(click.UsageError) as caught:
        translate_cmdlet(["get-migrationbatch", "-Bogus"], piped=False)
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith("Get-MigrationBatch: unknown parameter -Bogus")


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("Deleted Items,Junk Email", ["Deleted Items", "Junk Email"]),
        ('"Deleted Items", "a,b"', ["Deleted Items", "a,b"]),
        ("@('Inbox','Sent Items')", ["Inbox", "Sent Items"]),
        ("#DeletedItems#/*, \\#Notes\\#", ["#DeletedItems#/*", "\\#Notes\\#"]),
        (" , ,", []),
    ],
)
def test_split_list(text: str, items: list[str]) -> None:
    assert split_list(text) == items


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('([System.IO.File]::ReadAllBytes("C:\\Users\\a\\users.csv"))', "C:\\Users\\a\\users.csv"),
        ("([io.file]::readallbytes('/tmp/u.csv'))", "/tmp/u.csv"),
        ("[IO.File]::ReadAllBytes(users.csv)", "users.csv"),
        ('(Get-Content -Path "my users.csv" -Encoding Byte)', "my users.csv"),
        ("users.csv", "users.csv"),
        ("(users).csv", "(users).csv"),
    ],
)
def test_csv_path(text: str, path: str) -> None:
    assert csv_path(text) == path
