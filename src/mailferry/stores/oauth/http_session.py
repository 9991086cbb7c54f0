"""The ``requests`` session MSAL and google-auth send their token requests with."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import requests

REQUEST_TIMEOUT: Final = 30.0


class _Session(requests.Session):
    """Every request with a timeout (a Session has no default of its own) and, when
    given, the CA file: per request, since ``REQUESTS_CA_BUNDLE`` would override the
    session's ``verify``."""

    def __init__(self, ca_file: Path | None) -> None:
        super().__init__()
        self.ca_file = ca_file

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        if self.ca_file is not None:
            kwargs.setdefault("verify", str(self.ca_file))
        return super().request(*args, **kwargs)


def token_session(ca_file: Path | None = None) -> requests.Session:
    """A session trusting ``ca_file`` (None: the system's CAs), with timeouts."""
    return _Session(ca_file)
