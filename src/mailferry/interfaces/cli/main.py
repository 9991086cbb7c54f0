"""The ``mailferry`` command: one click group; each subcommand in its own module."""

from __future__ import annotations

import gc
import importlib
import sys

import click

from mailferry import __version__
from mailferry.interfaces.cli.cmdlets import translate_cmdlet

COMMANDS = {
    "test-server": "mailferry.interfaces.cli.test_server:test_server",
    "migrate": "mailferry.interfaces.cli.migrate:migrate",
    "verify": "mailferry.interfaces.cli.verify:verify",
    "endpoint": "mailferry.interfaces.cli.endpoint:endpoint",
    "batch": "mailferry.interfaces.cli.batch:batch",
    "user": "mailferry.interfaces.cli.user:user",
    "mx": "mailferry.interfaces.cli.mx:mx",
    "serve": "mailferry.interfaces.cli.serve:serve",
    "api": "mailferry.interfaces.cli.api:api",
    "token": "mailferry.interfaces.cli.token:token",
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
    """Console-script entry point (Exchange cmdlet names are translated first)."""
    try:
        translated = translate_cmdlet(sys.argv[1:], piped=not sys.stdout.isatty())
    except click.UsageError as error:
        error.show()
        sys.exit(error.exit_code)
    _import_command(sys.argv[1:] if translated is None else translated)
    if translated is None:
        cli(prog_name="mailferry")
    else:
        cli(args=translated, prog_name="mailferry")


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
