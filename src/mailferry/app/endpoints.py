"""Endpoints: New / Get / Set / Remove / Test (Exchange's *-MigrationEndpoint and
Test-MigrationServerAvailability), as Exchange-named views."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailferry.app.core import AppCore, Describe
from mailferry.app.requests import EndpointChanges, EndpointRequest, ServerTestRequest
from mailferry.app.targets import parse_authentication, parse_security
from mailferry.values.connection import default_port

if TYPE_CHECKING:
    from mailferry.connection.options import ConnectOptions
    from mailferry.service.endpoints.server_check import ServerCheckReport


class EndpointUseCases(AppCore):
    async def new_endpoint(
        self, req: EndpointRequest, *, skip_verification: bool = False
    ) -> dict[str, Any]:
        """Create an endpoint; unless ``skip_verification``, check the server answers."""
        from mailferry.service.endpoints import manage
        from mailferry.service.properties import endpoint_properties

        fields = dataclasses.asdict(req)
        name = fields.pop("name")
        changes = manage.EndpointChanges(**fields)
        created = await manage.new_endpoint(
            self._ctx, name, changes, skip_verification=skip_verification
        )
        return endpoint_properties(created)

    def get_endpoints(self) -> list[dict[str, Any]]:
        from mailferry.service.endpoints import manage
        from mailferry.service.properties import endpoint_properties

        active = self._ctx.store.active_syncs_by_endpoint()
        return [
            endpoint_properties(e, active.get(e.id, (0, 0)))
            for e in manage.get_endpoints(self._ctx)
        ]

    def get_endpoint(self, name: str) -> dict[str, Any]:
        from mailferry.service.endpoints import manage
        from mailferry.service.properties import endpoint_properties

        endpoint = manage.get_endpoint(self._ctx, name)
        active = self._ctx.store.active_syncs_by_endpoint().get(endpoint.id, (0, 0))
        return endpoint_properties(endpoint, active)

    async def set_endpoint(
        self, name: str, changes: EndpointChanges, *, skip_verification: bool = False
    ) -> dict[str, Any]:
        """Change an endpoint (refused while a batch using it runs); a changed server,
        port or security is checked unless ``skip_verification``."""
        from mailferry.service.endpoints import manage
        from mailferry.service.properties import endpoint_properties

        service_changes = manage.EndpointChanges(**dataclasses.asdict(changes))
        updated = await manage.set_endpoint(
            self._ctx, name, service_changes, skip_verification=skip_verification
        )
        return endpoint_properties(updated)

    def remove_endpoint(self, name: str) -> None:
        """Remove an endpoint no batch uses."""
        from mailferry.service.endpoints import manage

        manage.remove_endpoint(self._ctx, name)

    async def test_endpoint(self, name: str, *, timeout: float = 15.0) -> dict[str, Any]:
        """Test-MigrationServerAvailability -Endpoint: the stored settings, no login."""
        from mailferry.service.endpoints import manage
        from mailferry.service.endpoints.server_check import check_server

        options = manage.connect_options(manage.get_endpoint(self._ctx, name))
        timed = dataclasses.replace(options, connect_timeout=timeout, command_timeout=timeout)
        return self._server_view(await check_server(timed))

    async def test_server(self, req: ServerTestRequest) -> dict[str, Any]:
        """``test_server`` with this façade's words."""
        return await test_server(req, describe=self._describe)

    def _server_view(self, report: ServerCheckReport) -> dict[str, Any]:
        return server_view(report, self._describe)


async def test_server(req: ServerTestRequest, *, describe: Describe = str) -> dict[str, Any]:
    """DNS, TCP, TLS, greeting, capabilities, STARTTLS and (with ``user``) the login,
    each timed; ``Result`` Success or Failed (a server that can't be reached is a
    result, not an error: ``FailedStep`` and ``Error`` say why). Needs no database."""
    from mailferry.connection.auth import Credentials
    from mailferry.service.endpoints.server_check import check_server

    credentials = None
    if req.user is not None:
        method = parse_authentication(req.authentication, "Authentication")
        credentials = Credentials(req.user, req.password or "", req.authzid, method)
    return server_view(await check_server(_server_options(req), credentials), describe)


def server_view(report: ServerCheckReport, describe: Describe = str) -> dict[str, Any]:
    """The report as JSON-ready data (no secrets: none are in it): Exchange's fields
    (Result, Message in Microsoft's words where it has some, ErrorDetail,
    ConnectionSettings, SupportsCutover: never for IMAP) and our steps."""
    detail = describe(report.error) if report.error else None
    return {
        "RemoteServer": report.host,
        "Port": report.port,
        "Security": report.security,
        "Result": "Success" if report.ok else "Failed",
        "Message": exchange_message(report),
        "ErrorDetail": detail,
        "ConnectionSettings": {
            "RemoteServer": report.host,
            "Port": report.port,
            "Security": report.security,
        },
        "SupportsCutover": False,
        "FailedStep": report.failed_step,
        "Error": detail,
        "Steps": [
            {"Step": s.name, "Seconds": round(s.seconds, 4), "Ok": s.ok, "Detail": s.detail}
            for s in report.steps
        ],
        "Capabilities": list(report.capabilities),
    }


def exchange_message(report: ServerCheckReport) -> str | None:
    """Microsoft's words for a failed test (DOC-TS): a timeout while connecting, or a
    connection that could not be made; other failures speak for themselves (None)."""
    from mailferry.errors import ConnectFailed, ConnectTimeout

    error = report.error
    if isinstance(error, ConnectTimeout):
        return f"The connection to the server {report.host} timed out after {_hms(error.seconds)}."
    if isinstance(error, ConnectFailed):
        return f"The connection to the server {report.host} could not be completed."
    return None


def _hms(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _server_options(req: ServerTestRequest) -> ConnectOptions:
    from mailferry.connection.options import ConnectOptions

    mode = parse_security(req.security, "Security")
    return ConnectOptions(
        host=req.remote_server,
        port=req.port or default_port(mode),
        security=mode,
        accept_untrusted_certificates=req.accept_untrusted_certificates,
        ca_file=Path(req.ca_file) if req.ca_file else None,
        connect_timeout=req.timeout,
        command_timeout=req.timeout,
    )
