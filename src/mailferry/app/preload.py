"""What a command that runs a one-shot migration imports first (``cli/main.py``
RUN_IMPORTS, with the cyclic collector paused): the state store and the run itself."""

from __future__ import annotations

import mailferry.service.oneshot.migrate
import mailferry.state.store

__all__ = ["mailferry"]
