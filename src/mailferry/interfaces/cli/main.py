"""The ``mailferry`` command: one click group; each subcommand in its own module."""

from __future__ import annotations

import gc
import importlib
import sys

import click

from mailferry import __version__
from mailferry.interfaces.cli.cmdlet_pipeline import (
    per_identity,
    piped_identities,
    wants_piped_identity,
)
from mailferry.interfaces.cli.cmdlet_words import speaking_as, spoken
from mailferry.interfaces.cli.cmdlets import CMDLETS, translate_cmdlet

COMMANDS = {
    "test-server": "mailferry.interfaces.cli.test_server:test_server",
    "migrate": "mailferry.interfaces.cli.migrate:migrate",
    "verify": "mailferry.interfaces.cli.verify:verify",
    "endpoint": "mailferry.interfaces.cli.endpoint:endpoint",
    "batch": "mailferry.interfaces.cli.batch:batch",
    "user": "mailferry.interfaces.cli.user:user",
    "mx": "mailferry.interfaces.cli.mx:mx",
    "statistics": "mailferry.interfaces.cli.statistics:statistics",
    "config": "mailferry.interfaces.cli.config:config",
    "serve": "mailferry.interfaces.cli.serve:serve",
    "api": "mailferry.interfaces.cli.api:api",
    "token": "mailferry.interfaces.cli.token:token",
    "worker": "mailferry.interfaces.cli.worker:worker",
    "workers": "mailferry.interfaces.cli.worker:workers",
    "db": "mailferry.interfaces.cli.worker:db",
    "admin": "mailferry.interfaces.cli.admin:admin",
}
"""Each subcommand's module, imported only when that command runs (or for --help):
a command then starts without loading the engine, Rich's progress views and the rest."""

RUN_IMPORTS = {"migrate": ("mailferry.app.preload",)}
"""What a command imports first thing when it runs (not for --help): see _import_command."""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailferry")
def cli() -> None:
    """mailferry: migrate mailboxes from any IMAP server to a new home."""


def main() -> None:
    """Console-script entry point (Exchange cmdlet names are translated first; records
    piped into one supply its ``-Identity``: ``cmdlet_pipeline``)."""
    argv, piped = sys.argv[1:], not sys.stdout.isatty()
    try:
        lines = [argv]
        if wants_piped_identity(argv, sys.stdin):
            identities = piped_identities(sys.stdin, argv[0])
            lines = per_identity(argv, identities) if identities else [argv]
        runs = [translate_cmdlet(line, piped=piped) for line in lines]
    except click.UsageError as error:
        error.show()
        sys.exit(error.exit_code)
    first = runs[0]
    _import_command(argv if first is None else first)
    if first is None:
        cli(prog_name="mailferry")
        return
    cmdlet = CMDLETS[argv[0].lower()]
    with speaking_as(cmdlet.params):
        sys.exit(max(_run_cmdlet(cmdlet.name, run) for run in runs if run is not None))


def _run_cmdlet(name: str, args: list[str]) -> int:
    """Run one translated line; its exit code. Click's usage errors are worded with the
    cmdlet's parameters (``cmdlet_words``) and its name, not the native command's."""
    try:
        result = cli.main(args=args, prog_name="mailferry", standalone_mode=False)
    except click.ClickException as error:
        click.echo(f"{name}: {spoken(error.format_message())}", err=True)
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BrokenPipeError:  # ``| head``: the reader has what it wanted
        sys.stdout = None  # nothing more can be written
        return 1
    return result if isinstance(result, int) else 0


def _import_command(args: list[str]) -> None:
    """Import the command's module with the cyclic garbage collector paused, then freeze
    what is in memory: start-up creates several hundred modules' long-lived objects, and
    collecting them (repeatedly while importing, and again in every full collection of a
    long run) never frees anything. A process-wide setting: done here, in the console
    entry point, and not in ``LazyGroup`` (which tests call in their own process)."""
    target = COMMANDS.get(args[0]) if args else None
    if target is None:
        return
    modules = [target.split(":")[0]]
    if not {"-h", "--help"} & set(args):
        modules += RUN_IMPORTS.get(args[0], ())
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for module in modules:
            importlib.import_module(module)
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
