"""Which mailferry the killed runs execute: the working tree is edited while a crash loop
runs for minutes, so by default the runs use a copy of ``src/mailferry`` taken at the
start (``worktree``); ``head`` is the last commit (``git archive``, read-only), ``live``
the working tree as it changes. The copy goes first on the runs' PYTHONPATH."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODES = ("worktree", "head", "live")


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False, timeout=60
    )
    return done.stdout.strip()


def describe_head() -> str:
    dirty = _git("status", "--porcelain", "--", "src")
    return f"HEAD {_git('rev-parse', '--short', 'HEAD')}" + (" + local changes" if dirty else "")


def snapshot(mode: str, directory: Path) -> tuple[dict[str, str], str]:
    """Environment for the runs (PYTHONPATH) and a description of the code they run."""
    if mode == "live":
        return {}, f"live working tree ({describe_head()})"
    directory.mkdir(parents=True)
    if mode == "head":
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "HEAD", "src/mailferry"],
            capture_output=True,
            check=True,
            timeout=60,
        )
        subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
        text = f"HEAD {_git('rev-parse', '--short', 'HEAD')} (git archive)"
    else:
        shutil.copytree(
            REPO / "src" / "mailferry",
            directory / "src" / "mailferry",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        text = f"copy of the working tree taken at the start ({describe_head()})"
    return {"PYTHONPATH": str(directory / "src")}, text
