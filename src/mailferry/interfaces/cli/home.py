"""The mailferry home directory (``MAILFERRY_HOME``, default ``~/.local/share/mailferry``).

Its own small module: ``migrate`` finds its default state file here without loading
the service's database code (``service_context`` re-exports both names).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

DEFAULT_HOME = "~/.local/share/mailferry"


def mailferry_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("MAILFERRY_HOME") or DEFAULT_HOME).expanduser()
