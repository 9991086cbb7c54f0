"""Endpoints: the list, a new one and an edited one (with "Test connection": the
test-server steps), and removal (refused while a batch uses it, with the reason)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from mailferry.app import EndpointChanges, EndpointRequest, ServerTestRequest
from mailferry.app.endpoints import server_view
from mailferry.errors import MailferryError, VerificationFailed
from mailferry.interfaces.error_words import describe
from mailferry.interfaces.web.guard import FacadeDep, FormDep, SessionDep
from mailferry.interfaces.web.outcome import attempt
from mailferry.interfaces.web.render import page

router = APIRouter()
SECURITIES = ("Ssl", "Tls", "None")
AUTHENTICATIONS = ("Basic", "Ntlm")


@router.get("/endpoints")
def endpoints_page(request: Request, session: SessionDep, app: FacadeDep) -> Response:
    return page(request, "endpoints.html", session, endpoints=app.get_endpoints(), quote=quote)


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _number(form: FormData, key: str, words: str) -> int | None:
    text = _text(form, key)
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"{words}: {text!r} is not a whole number")
    return int(text)


def _form_page(
    request: Request, session: SessionDep, values: dict[str, Any], status: int = 200,
    **extra: Any,
) -> Response:  # fmt: skip
    extra.setdefault("action", "/endpoints/new")
    return page(
        request, "endpoint_new.html", session, status, values=values, securities=SECURITIES,
        authentications=AUTHENTICATIONS, **extra,
    )  # fmt: skip


@router.get("/endpoints/new")
def new_endpoint_page(request: Request, session: SessionDep) -> Response:
    return _form_page(request, session, {})


@router.post("/endpoints/new")
async def new_endpoint(
    request: Request, session: SessionDep, form: FormDep, app: FacadeDep
) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str) and "password" not in k}
    try:
        port = _number(form, "port", "Port")
        migrations = _number(form, "max_migrations", "Max concurrent migrations")
        incrementals = _number(form, "max_incrementals", "Max concurrent incremental syncs")
    except ValueError as error:
        return _form_page(request, session, values, 422, error=str(error))
    untrusted = form.get("accept_untrusted") == "on"
    server = _text(form, "remote_server")
    security = _text(form, "security") or "Ssl"
    authentication = _text(form, "authentication") or "Basic"
    ca_file = _text(form, "ca_file") or None
    try:
        if form.get("do") == "test":
            return _form_page(request, session, values, test=await _test(form, app))
        made = await app.new_endpoint(
            EndpointRequest(
                name=_text(form, "name"), remote_server=server, port=port, security=security,
                authentication=authentication, max_concurrent_migrations=migrations,
                max_concurrent_incremental_syncs=incrementals,
                accept_untrusted_certificates=untrusted, ca_file=ca_file,
            )
        )  # fmt: skip
    except VerificationFailed as error:  # not saved: show the steps of the check
        test = server_view(error.report, describe)  # type: ignore[arg-type]
        return _form_page(request, session, values, 422, error=describe(error), test=test)
    except MailferryError as error:
        return _form_page(request, session, values, 422, error=describe(error))
    session.flash("ok", f"Endpoint {made['Name']!r} created.")
    return RedirectResponse("/endpoints", status_code=303)


async def _test(form: FormData, app: FacadeDep) -> dict[str, Any]:
    """Test connection: the test-server steps for the form's settings (and login)."""
    return await app.test_server(
        ServerTestRequest(
            remote_server=_text(form, "remote_server"), port=_number(form, "port", "Port"),
            security=_text(form, "security") or "Ssl",
            authentication=_text(form, "authentication") or "Basic",
            accept_untrusted_certificates=form.get("accept_untrusted") == "on",
            ca_file=_text(form, "ca_file") or None, user=_text(form, "test_user") or None,
            password=_text(form, "test_password") or None, timeout=10.0,
        )
    )  # fmt: skip


@router.get("/endpoints/{name}/edit")
def edit_endpoint_page(
    name: str, request: Request, session: SessionDep, app: FacadeDep
) -> Response:
    e = app.get_endpoint(name)
    values = {
        "remote_server": e["RemoteServer"], "port": str(e["Port"]), "security": e["Security"],
        "authentication": e["Authentication"],
        "max_migrations": str(e["MaxConcurrentMigrations"]),
        "max_incrementals": str(e["MaxConcurrentIncrementalSyncs"]),
        "accept_untrusted": "on" if e["AcceptUntrustedCertificates"] else "",
    }  # fmt: skip
    return _edit_page(request, session, e["Name"], values)


def _edit_page(
    request: Request, session: SessionDep, name: str, values: dict[str, Any], status: int = 200,
    **extra: Any,
) -> Response:  # fmt: skip
    action = f"/endpoints/{quote(name, safe='')}/edit"
    return _form_page(request, session, values, status, editing=name, action=action, **extra)


@router.post("/endpoints/{name}/edit")
async def edit_endpoint(
    name: str, request: Request, session: SessionDep, form: FormDep, app: FacadeDep
) -> Response:
    """Set-MigrationEndpoint: the changed settings are checked against the server (as
    the CLI does); refused while a running batch uses the endpoint, with the reason."""
    values = {k: v for k, v in form.items() if isinstance(v, str) and "password" not in k}
    try:
        if form.get("do") == "test":
            return _edit_page(request, session, name, values, test=await _test(form, app))
        changes = _changes(form, app.get_endpoint(name))
        await app.set_endpoint(name, changes)
    except ValueError as error:
        return _edit_page(request, session, name, values, 422, error=str(error))
    except VerificationFailed as error:
        test = server_view(error.report, describe)  # type: ignore[arg-type]
        return _edit_page(request, session, name, values, 422, error=describe(error), test=test)
    except MailferryError as error:
        return _edit_page(request, session, name, values, 422, error=describe(error))
    session.flash("ok", f"Endpoint {name!r} saved.")
    return RedirectResponse("/endpoints", status_code=303)


def _changes(form: FormData, current: dict[str, Any]) -> EndpointChanges:
    """Only what the form changed (a changed server, port or security is checked
    against the server again; the concurrency caps alone are not)."""

    def changed(value: Any, key: str) -> Any:
        return None if value is None or value == current[key] else value

    untrusted = form.get("accept_untrusted") == "on"
    return EndpointChanges(
        remote_server=changed(_text(form, "remote_server") or None, "RemoteServer"),
        port=changed(_number(form, "port", "Port"), "Port"),
        security=changed(_text(form, "security") or None, "Security"),
        authentication=changed(_text(form, "authentication") or None, "Authentication"),
        max_concurrent_migrations=changed(
            _number(form, "max_migrations", "Max concurrent migrations"), "MaxConcurrentMigrations"
        ),
        max_concurrent_incremental_syncs=changed(
            _number(form, "max_incrementals", "Max concurrent incremental syncs"),
            "MaxConcurrentIncrementalSyncs",
        ),
        accept_untrusted_certificates=changed(untrusted, "AcceptUntrustedCertificates"),
        ca_file=_text(form, "ca_file") or None,
    )


@router.post("/endpoints/{name}/remove")
def remove_endpoint(name: str, session: SessionDep, form: FormDep, app: FacadeDep) -> Response:
    return attempt(
        session, lambda: app.remove_endpoint(name), f"Endpoint {name!r} removed.", "/endpoints"
    )
