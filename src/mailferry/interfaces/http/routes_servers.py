"""``/test-server``: Test-MigrationServerAvailability of a server given by address (the
endpoint-less form; ``/endpoints/{name}/test`` tests a stored endpoint).

A POST with write access: it makes this machine connect where the body says, as creating
an endpoint does. The password is write-only: it is used for the login step and appears
in no response."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from mailferry.app import ServerTestRequest
from mailferry.interfaces.http.depends import Access, Facade, Routes
from mailferry.interfaces.http.schemas import Host, JsonRequest, ServerTestView


class ServerTest(JsonRequest):
    """The server to test; ``User`` (and ``Password``) given: the login step too."""

    RemoteServer: str = Host
    Port: int | None = Field(default=None, ge=1, le=65535, description="Default 993 (Ssl), 143.")
    Security: str = Field(default="Ssl", description="None | Ssl (default) | Tls")
    Authentication: str = Field(default="Basic", description="Basic (default) | Plain")
    AcceptUntrustedCertificates: bool = False
    CaFile: str | None = Field(default=None, description="A CA file on the server's machine.")
    User: str | None = Field(default=None, min_length=1, max_length=320)
    Password: str | None = Field(default=None, max_length=4096, description="Write-only.")
    Authzid: str = Field(default="", max_length=320, description="Log in as this user.")
    Timeout: float = Field(default=15.0, gt=0, le=60, description="Seconds per step.")


async def test_server(mailferry: Facade, body: ServerTest) -> dict[str, Any]:
    """DNS, TCP, TLS, greeting, capabilities, STARTTLS and (with a user) the login."""
    request = ServerTestRequest(
        remote_server=body.RemoteServer,
        port=body.Port,
        security=body.Security,
        authentication=body.Authentication,
        accept_untrusted_certificates=body.AcceptUntrustedCertificates,
        ca_file=body.CaFile,
        user=body.User,
        password=body.Password,
        authzid=body.Authzid,
        timeout=body.Timeout,
    )
    return await mailferry.test_server(request)


def routes(read: Access, write: Access) -> APIRouter:
    table = Routes(APIRouter(tags=["servers"]), read, write)
    table.add("POST", "/test-server", test_server, response_model=ServerTestView)
    return table.router
