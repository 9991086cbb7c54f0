"""``/endpoints``: New / Get / Set / Remove / Test-MigrationEndpoint."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from mailferry.app import EndpointChanges, EndpointRequest
from mailferry.interfaces.http.depends import Access, EndpointName, Facade, Routes, created
from mailferry.interfaces.http.schemas import (
    EndpointCreate,
    EndpointPatch,
    EndpointView,
    ServerTestView,
)

Skip = Annotated[
    bool,
    Query(
        alias="skipVerification",
        description="Don't check that the server answers (-SkipVerification).",
    ),
]


async def new_endpoint(mailferry: Facade, body: EndpointCreate, skip: Skip = False) -> JSONResponse:
    """New-MigrationEndpoint -IMAP: checks the server answers unless skipVerification."""
    request = EndpointRequest(
        name=body.Name,
        remote_server=body.RemoteServer,
        port=body.Port,
        security=body.Security,
        authentication=body.Authentication,
        max_concurrent_migrations=body.MaxConcurrentMigrations,
        max_concurrent_incremental_syncs=body.MaxConcurrentIncrementalSyncs,
        accept_untrusted_certificates=body.AcceptUntrustedCertificates,
        ca_file=body.CaFile,
    )
    view = await mailferry.new_endpoint(request, skip_verification=skip)
    location = f"/api/v1/endpoints/{quote(view['Name'], safe='')}"
    return JSONResponse(EndpointView.model_validate(view).model_dump(), 201, {"Location": location})


def get_endpoints(mailferry: Facade) -> list[dict[str, Any]]:
    """Get-MigrationEndpoint: every endpoint, by name."""
    return mailferry.get_endpoints()


def get_endpoint(mailferry: Facade, name: EndpointName) -> dict[str, Any]:
    """Get-MigrationEndpoint -Identity."""
    return mailferry.get_endpoint(name)


async def set_endpoint(
    mailferry: Facade, name: EndpointName, body: EndpointPatch, skip: Skip = False
) -> dict[str, Any]:
    """Set-MigrationEndpoint (refused while a batch using it runs); nothing to change:
    the endpoint as it is."""
    if not body.model_dump(exclude_none=True):
        return mailferry.get_endpoint(name)
    changes = EndpointChanges(
        remote_server=body.RemoteServer,
        port=body.Port,
        security=body.Security,
        authentication=body.Authentication,
        max_concurrent_migrations=body.MaxConcurrentMigrations,
        max_concurrent_incremental_syncs=body.MaxConcurrentIncrementalSyncs,
        accept_untrusted_certificates=body.AcceptUntrustedCertificates,
        ca_file=body.CaFile,
    )
    return await mailferry.set_endpoint(name, changes, skip_verification=skip)


def remove_endpoint(mailferry: Facade, name: EndpointName) -> Response:
    """Remove-MigrationEndpoint (refused while a batch uses it)."""
    mailferry.remove_endpoint(name)
    return Response(status_code=204)


async def test_endpoint(mailferry: Facade, name: EndpointName) -> dict[str, Any]:
    """Test-MigrationServerAvailability -Endpoint: DNS, TCP, TLS, greeting, each timed
    (no login: an endpoint holds no credentials). Result Failed is still a 200."""
    return await mailferry.test_endpoint(name)


def routes(read: Access, write: Access) -> APIRouter:
    table = Routes(APIRouter(prefix="/endpoints", tags=["endpoints"]), read, write)
    add = table.add
    add("GET", "", get_endpoints, response_model=list[EndpointView])
    then = ("get_endpoint", "set_endpoint", "test_endpoint", "remove_endpoint")
    add(
        "POST", "", new_endpoint, status_code=201, response_model=EndpointView,
        responses=created("name", "Name", *then),
    )  # fmt: skip
    add("GET", "/{name}", get_endpoint, response_model=EndpointView)
    add("PATCH", "/{name}", set_endpoint, response_model=EndpointView)
    add("DELETE", "/{name}", remove_endpoint, status_code=204, response_class=Response)
    add("POST", "/{name}/test", test_endpoint, response_model=ServerTestView)
    return table.router
