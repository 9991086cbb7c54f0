"""What the route modules share: the façade of the request's app, and how routes are
registered with the access dependency they need.

Route functions are plain module-level functions; each module's ``routes(read, write)``
registers them on a router with ``read`` (GET) or ``write`` (everything else) as a
dependency, so ``create_app`` decides what guards the API (the bearer tokens of
``auth`` in production, anything a test likes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from mailferry.app import Mailferry
from mailferry.interfaces.http.schemas import ErrorBody

Access = Callable[..., Any]


def facade(request: Request) -> Mailferry:
    found = request.app.state.mailferry
    assert isinstance(found, Mailferry)
    return found


Facade = Annotated[Mailferry, Depends(facade)]

EndpointName = Annotated[str, Path(description="The endpoint's Name.", examples=["IMAPEndpoint"])]
BatchName = Annotated[str, Path(description="The batch's Name.", examples=["IMAPBatch1"])]
Email = Annotated[
    str, Path(description="The user's EmailAddress.", examples=["terry.adams@contoso.com"])
]
Domain = Annotated[str, Path(description="A mail domain.", examples=["contoso.com"])]

ERRORS: Mapping[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": words}
    for status, words in (
        (400, "Bad request"),
        (401, "No valid token"),
        (403, "A read-only token, or refused"),
        (404, "Not found"),
        (409, "Conflict with the current state"),
        (413, "Body too large"),
        (422, "Invalid request"),
        (429, "Too many failed token attempts"),
        (500, "Internal error"),
    )
}


def created(parameter: str, field: str, *operations: str) -> dict[int | str, dict[str, Any]]:
    """The 201 response of a POST that creates a resource, with OpenAPI links to what
    may be done with it next (its name from the body's ``field``)."""
    value = f"$response.body#/{field}"
    links = {op: {"operationId": op, "parameters": {parameter: value}} for op in operations}
    return {201: {"description": "Created", "links": links}}


class Routes:
    """Registers routes on ``router`` with the access they need."""

    def __init__(self, router: APIRouter, read: Access, write: Access) -> None:
        self.router = router
        self._read = read
        self._write = write

    def add(self, method: str, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        access = self._read if method == "GET" else self._write
        options["responses"] = {**ERRORS, **options.get("responses", {})}
        self.router.add_api_route(
            path,
            endpoint,
            methods=[method],
            dependencies=[Depends(access)],
            operation_id=endpoint.__name__,
            **options,
        )
