"""Exchange Online cmdlet names → native ``mailferry`` command lines.

``mailferry New-MigrationEndpoint -IMAP -Name E -RemoteServer imap.contoso.com`` becomes
``mailferry endpoint new --name E --remote-server imap.contoso.com``. :func:`translate_cmdlet`
only rewrites argv; ``main()`` runs the result through the ordinary click commands. When the
output is piped (``| Format-List``), commands that output records get ``--format jsonl`` (and
``test-server`` gets ``--format json``), the way PowerShell passes objects down a pipe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mailferry.interfaces.cli.cmdlet_parse import (
    Call,
    CmdletUsageError,
    Kind,
    Param,
    parse_call,
)
from mailferry.interfaces.cli.config import OPTIONS as CONFIG_OPTIONS

Translator = Callable[[Call, bool], list[str]]

IDENTITY = Param("Identity")


@dataclass(frozen=True)
class Cmdlet:
    """One cmdlet name: its parameters and how a parsed call becomes native argv."""

    name: str
    native: tuple[str, ...]  # the native subcommand (for -? and the default translation)
    params: tuple[Param, ...]
    positional: str | None = None  # the parameter a bare word binds to
    required: tuple[str, ...] = ()
    records: bool = False  # outputs records: add --format jsonl when piped
    special: Translator | None = None  # replaces the default translation


def _options(call: Call, params: Sequence[Param]) -> list[str]:
    """Native options for every typed parameter that maps to one, in typed order."""
    by_name = {p.name: p for p in params}
    argv: list[str] = []
    for name, value in call.values.items():
        param = by_name.get(name)
        if param is None or param.option is None:
            continue
        if isinstance(value, tuple):
            for item in value:
                argv += [param.option, item]
        elif value is True:
            argv.append(param.option)
        elif value is False:
            if param.negatable:
                argv.append("--no-" + param.option.removeprefix("--"))
        else:
            argv += [param.option, value]
    return argv


def _default(cmdlet: Cmdlet, call: Call, piped: bool) -> list[str]:
    argv = list(cmdlet.native)
    identity = call.text("Identity")
    if identity is not None:
        argv.append(identity)
    argv += _options(call, cmdlet.params)
    if piped and cmdlet.records:
        argv += ["--format", "jsonl"]
    return argv


def _only(call: Call, allowed: set[str], why: str) -> None:
    extra = [name for name in call.given() if name not in allowed]
    if extra:
        names = ", ".join(f"-{name}" for name in extra)
        raise CmdletUsageError(call.cmdlet, f"{names} can't be combined with {why}")


def _test_server(call: Call, piped: bool) -> list[str]:
    tail = ["--format", "json"] if piped else []
    endpoint = call.text("Endpoint")
    if endpoint is not None:
        _only(call, {"Endpoint", "Imap"}, "-Endpoint (it tests the endpoint's own settings)")
        return ["test-server", "--endpoint", endpoint, *tail]
    if call.text("RemoteServer") is None:
        raise CmdletUsageError(
            call.cmdlet, "give -RemoteServer (with -IMAP, -Port, -Security) or -Endpoint NAME"
        )
    return ["test-server", *_options(call, TEST_SERVER_PARAMS), *tail]


def _get_endpoint(call: Call, piped: bool) -> list[str]:
    kind = call.text("Type")
    if kind is not None and kind.lower() != "imap":
        raise CmdletUsageError(call.cmdlet, f"-Type {kind}: mailferry has only IMAP endpoints")
    return _default(CMDLETS["get-migrationendpoint"], call, piped)


def _result_size(call: Call) -> list[str]:
    """``-ResultSize N`` (at most N records) or ``Unlimited`` (every match, also what
    mailferry lists when it is not given; Exchange's default is 1000)."""
    size = call.text("ResultSize")
    if size is None or size.lower() == "unlimited":
        return []
    if not size.isdigit() or int(size) < 1:
        raise CmdletUsageError(
            call.cmdlet, f"-ResultSize {size!r}: give a number of at least 1, or Unlimited"
        )
    return ["--result-size", str(int(size))]


def _get_batch(call: Call, piped: bool) -> list[str]:
    """``-DiagnosticInfo <text>`` (Exchange's values: showtimeline, verbose…) asks for
    mailferry's one DiagnosticInfo, whatever the text."""
    extra = ["--diagnostic-info"] if call.text("DiagnosticInfo") is not None else []
    return _default(CMDLETS["get-migrationbatch"], call, piped) + _result_size(call) + extra


def _get_user(call: Call, piped: bool) -> list[str]:
    size = _result_size(call)
    email = call.text("EmailAddress")
    if email is not None:
        if call.text("Identity") is not None:
            raise CmdletUsageError(call.cmdlet, "give -Identity or -EmailAddress, not both")
        values = {("Identity" if k == "EmailAddress" else k): v for k, v in call.values.items()}
        call = Call(call.cmdlet, values)
    return _default(CMDLETS["get-migrationuser"], call, piped) + size


def _set_batch(call: Call, piped: bool) -> list[str]:
    name = _identity(call)
    if call.flag("SyncNow"):
        _only(call, {"Identity", "SyncNow"}, "-SyncNow")
        return ["batch", "sync-now", name]
    if call.flag("AddUsers"):
        if call.text("CSVData") is None:
            raise CmdletUsageError(call.cmdlet, "-AddUsers needs -CSVData users.csv")
        _only(call, {"Identity", "AddUsers", "CSVData", "AllowUnknownColumnsInCsv"}, "-AddUsers")
        return ["batch", "add-users", name, *_options(call, SET_BATCH_PARAMS)]
    for needs_add in ("CSVData", "AllowUnknownColumnsInCsv"):
        if needs_add in call.given():
            raise CmdletUsageError(
                call.cmdlet, f"-{needs_add} is used with -AddUsers (-AddUsers -CSVData users.csv)"
            )
    return ["batch", "set", name, *_options(call, SET_BATCH_PARAMS)]


def _set_user(call: Call, piped: bool) -> list[str]:
    if not call.flag("SyncNow"):
        raise CmdletUsageError(call.cmdlet, "only -SyncNow is supported (-Identity X -SyncNow)")
    return ["user", "sync-now", _identity(call)]


def _identity(call: Call) -> str:
    identity = call.text("Identity")
    if identity is None:  # required; checked before translation
        raise CmdletUsageError(call.cmdlet, "missing required parameter -Identity")
    return identity


_SERVER = (
    Param("RemoteServer", option="--remote-server"),
    Param("Port", option="--port"),
    Param("Security", option="--security"),
    Param("Authentication", option="--authentication"),
)
_CONCURRENCY = (
    Param("MaxConcurrentMigrations", option="--max-concurrent-migrations"),
    Param("MaxConcurrentIncrementalSyncs", option="--max-concurrent-incremental-syncs"),
)
_ACCEPT_SWITCH = Param(
    "AcceptUntrustedCertificates", Kind.SWITCH, option="--accept-untrusted-certificates"
)
_SKIP = Param("SkipVerification", Kind.SWITCH, option="--skip-verification")
_IMAP = Param("Imap", Kind.SWITCH)
_BATCH_SETTINGS = (
    Param("StartAfter", option="--start-after"),
    Param("CompleteAfter", option="--complete-after"),
    Param("NotificationEmails", Kind.LIST, option="--notification-emails"),
    Param("ExcludeFolders", Kind.LIST, option="--exclude-folders"),
    Param("IncludeFolders", Kind.LIST, option="--include-folders"),
    Param("ContentFilter", option="--content-filter"),
    Param("TimeZone", option="--time-zone"),
    Param("Locale", option="--locale"),
    Param("ReportInterval", option="--report-interval"),
    Param("AutoComplete", Kind.SWITCH, option="--auto-complete"),
    Param("SkipReports", Kind.SWITCH, option="--skip-reports"),
)
_CSV = Param("CSVData", Kind.CSV, option="--csv")
_UNKNOWN_COLUMNS = Param("AllowUnknownColumnsInCsv", Kind.BOOL, option="--allow-unknown-columns")
_RESULT_SIZE = Param("ResultSize")

TEST_SERVER_PARAMS = (_IMAP, *_SERVER, _ACCEPT_SWITCH, Param("Endpoint"))
SET_BATCH_PARAMS = (
    IDENTITY,
    Param("SyncNow", Kind.SWITCH),
    Param("AddUsers", Kind.SWITCH),
    _CSV,
    _UNKNOWN_COLUMNS,
    *_BATCH_SETTINGS,
    Param("ApproveSkippedItems", Kind.SWITCH, option="--approve-skipped-items"),
    Param("Update", Kind.SWITCH, option="--update"),
)


def _action(noun: str, verb: str, *extra: Param) -> Cmdlet:
    """``<Verb>-Migration<Noun> -Identity X`` → ``mailferry <noun> <verb> X``."""
    return Cmdlet(
        f"{verb.capitalize()}-Migration{noun.capitalize()}",
        (noun, verb),
        (IDENTITY, *extra),
        positional="Identity",
        required=("Identity",),
        records=True,  # the record it acted on goes down a pipe as a JSON line
    )


def _batch_action(verb: str, *extra: Param) -> Cmdlet:
    return _action("batch", verb, *extra)


def _user_action(verb: str, *extra: Param) -> Cmdlet:
    return _action("user", verb, *extra)


_FORCE = Param("Force", Kind.SWITCH, option="--force")


_ALL = (
    Cmdlet(
        "Test-MigrationServerAvailability", ("test-server",), TEST_SERVER_PARAMS,
        special=_test_server,
    ),
    Cmdlet(
        "New-MigrationEndpoint", ("endpoint", "new"),
        (_IMAP, Param("Name", option="--name"), *_SERVER, *_CONCURRENCY, _ACCEPT_SWITCH, _SKIP),
        required=("Name", "RemoteServer"), records=True,
    ),
    Cmdlet(
        "Get-MigrationEndpoint", ("endpoint", "get"), (IDENTITY, Param("Type")),
        positional="Identity", records=True, special=_get_endpoint,
    ),
    Cmdlet(
        "Set-MigrationEndpoint", ("endpoint", "set"),
        (
            IDENTITY, *_SERVER, *_CONCURRENCY, _SKIP,
            Param("AcceptUntrustedCertificates", Kind.BOOL,
                  option="--accept-untrusted-certificates", negatable=True),
        ),
        positional="Identity", required=("Identity",),
    ),
    Cmdlet(
        "Remove-MigrationEndpoint", ("endpoint", "remove"), (IDENTITY,),
        positional="Identity", required=("Identity",),
    ),
    Cmdlet(
        "New-MigrationBatch", ("batch", "new"),
        (
            Param("Name", option="--name"), Param("SourceEndpoint", option="--source-endpoint"),
            _CSV, Param("AutoStart", Kind.SWITCH, option="--auto-start"), *_BATCH_SETTINGS,
            _UNKNOWN_COLUMNS,
        ),
        required=("Name", "SourceEndpoint", "CSVData"), records=True,
    ),
    Cmdlet(
        "Get-MigrationBatch", ("batch", "get"),
        (IDENTITY, Param("Status", option="--status"), Param("Endpoint", option="--endpoint"),
         _RESULT_SIZE, Param("IncludeReport", Kind.SWITCH, option="--include-report"),
         Param("DiagnosticInfo")),
        positional="Identity", records=True, special=_get_batch,
    ),
    _batch_action("start"),
    _batch_action("stop"),
    _batch_action("complete"),
    _batch_action("remove", _FORCE),
    Cmdlet(
        "Set-MigrationBatch", ("batch", "set"), SET_BATCH_PARAMS,
        positional="Identity", required=("Identity",), special=_set_batch,
    ),
    Cmdlet(
        "Get-MigrationUser", ("user", "get"),
        (IDENTITY, Param("EmailAddress"), Param("BatchId", option="--batch"),
         Param("Status", option="--status"), Param("StatusSummary", option="--status-summary"),
         _RESULT_SIZE),
        positional="Identity", records=True, special=_get_user,
    ),
    Cmdlet(
        "Get-MigrationUserStatistics", ("user", "stats"),
        (IDENTITY, Param("IncludeSkippedItems", Kind.SWITCH, option="--include-skipped-items"),
         Param("LimitSkippedItemsTo", option="--limit-skipped-items-to"),
         Param("IncludeReport", Kind.SWITCH, option="--include-report")),
        positional="Identity", required=("Identity",), records=True,
    ),
    Cmdlet(
        "Set-MigrationUser", ("user", "sync-now"), (IDENTITY, Param("SyncNow", Kind.SWITCH)),
        positional="Identity", required=("Identity",), special=_set_user,
    ),
    _user_action("stop"),
    _user_action("start"),
    _user_action("remove", _FORCE),
    Cmdlet("Get-MigrationStatistics", ("statistics",), (), records=True),
    Cmdlet("Get-MigrationConfig", ("config", "get"), (), records=True),
    Cmdlet(
        "Set-MigrationConfig", ("config", "set"),
        tuple(Param(name, option=flag) for name, (flag, _kind, _text) in CONFIG_OPTIONS.items()),
        records=True,
    ),
)  # fmt: skip

CMDLETS: dict[str, Cmdlet] = {cmdlet.name.lower(): cmdlet for cmdlet in _ALL}


def translate_cmdlet(argv: Sequence[str], *, piped: bool) -> list[str] | None:
    """Native argv for a cmdlet-named command line; ``None`` if ``argv[0]`` is no cmdlet.

    ``piped``: standard output is not a terminal, so record-producing commands emit JSON
    lines for ``Format-List`` / ``Format-Table``. Raises :class:`CmdletUsageError`.
    """
    if not argv:
        return None
    cmdlet = CMDLETS.get(argv[0].lower())
    if cmdlet is None:
        return None
    call = parse_call(cmdlet.name, cmdlet.params, cmdlet.positional, argv[1:])
    if call.help:
        return [*cmdlet.native, "--help"]
    for name in cmdlet.required:
        if name not in call.values:
            hint = " (or as the first argument)" if name == cmdlet.positional else ""
            raise CmdletUsageError(cmdlet.name, f"missing required parameter -{name}{hint}")
    if cmdlet.special is not None:
        return cmdlet.special(call, piped)
    return _default(cmdlet, call, piped)
