"""The interfaces call the façade only: no module under ``interfaces`` imports the
service, the engine, the state, the stores, the connection or the IMAP layers; and
``mailferry.values`` (the plain values both sides share) imports nothing above it.

Read from the source (every ``import`` and ``from ... import``, wherever it stands: a
lazy import inside a function, or one only for type checking, counts too)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import mailferry

SRC = Path(mailferry.__file__).resolve().parent
BELOW_THE_FACADE = ("service", "engine", "state", "stores", "connection", "imap")
ABOVE_THE_VALUES = (*BELOW_THE_FACADE, "app", "interfaces", "rig")


def imports(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in a module of ``package``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # ``from mailferry import service`` names a module
                yield node.lineno, f"{module}.{alias.name}"


def offences(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    banned = tuple(f"mailferry.{layer}" for layer in forbidden)
    found = []
    for path in sorted((SRC / folder).rglob("*.py")):
        package = ".".join(path.relative_to(SRC.parent).parts[:-1])
        for line, module in imports(path.read_text(encoding="utf-8"), package):
            if module in banned or module.startswith(tuple(b + "." for b in banned)):
                found.append(f"{path.relative_to(SRC)}:{line}: {module}")
    return found


def test_interfaces_import_only_the_facade_and_the_values() -> None:
    assert offences("interfaces", BELOW_THE_FACADE) == []


def test_the_values_import_nothing_above_them() -> None:
    assert offences("values", ABOVE_THE_VALUES) == []


def test_the_check_sees_lazy_relative_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from mailferry.state.records import SkippedItem\n"
        "def f():\n    import mailferry.engine.sync\n"
        "from ..http import app\n"
        "from ...service import context\n"
    )
    found = {module for _, module in imports(source, "mailferry.interfaces.cli")}
    assert {
        "mailferry.state.records",
        "mailferry.engine.sync",
        "mailferry.interfaces.http.app",
        "mailferry.service",
        "mailferry.service.context",
    } <= found


def test_the_web_console_is_checked_too() -> None:
    """``interfaces/web`` (the console) is under the same rule: its modules are read."""
    modules = sorted((SRC / "interfaces" / "web").rglob("*.py"))
    assert len(modules) >= 5
    assert offences("interfaces/web", BELOW_THE_FACADE) == []
