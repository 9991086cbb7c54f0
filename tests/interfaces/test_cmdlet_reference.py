"""The cmdlet reference page is generated from the code and kept current: every cmdlet
and every parameter has words, and ``docs/reference/cmdlets.md`` is what the code makes
now (regenerate with the command in ``interfaces/cli/cmdlet_reference.py``)."""

from __future__ import annotations

from pathlib import Path

from mailferry.interfaces.cli.cmdlet_reference import _native_command, describe, render
from mailferry.interfaces.cli.cmdlets import CMDLETS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "cmdlets.md"


def test_every_cmdlet_parameter_has_words() -> None:
    silent = [
        f"{cmdlet.name} -{param.name}"
        for cmdlet in CMDLETS.values()
        for param in cmdlet.params
        if not describe(param, _native_command(cmdlet.native))
    ]
    assert silent == []


def test_the_page_is_current_and_names_every_cmdlet() -> None:
    text = render()
    assert PAGE.read_text(encoding="utf-8") == text, "regenerate docs/reference/cmdlets.md"
    for cmdlet in CMDLETS.values():
        assert f"## {cmdlet.name}\n" in text
        for param in cmdlet.params:
            assert f"| `-{param.name}` |" in text
