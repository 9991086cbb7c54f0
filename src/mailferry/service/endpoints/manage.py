"""Migration endpoints: New / Get / Set / Remove (Exchange's *-MigrationEndpoint).

Defaults and ranges are the SPEC's: Security Ssl on port 993, MaxConcurrentMigrations
20 (1–100), MaxConcurrentIncrementalSyncs 10 (never above MaxConcurrentMigrations).
Creation and changes verify that the server answers (the test-server checks, without
a login: an endpoint holds no credentials) unless ``skip_verification``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import idna

from mailferry.connection.options import ConnectOptions
from mailferry.errors import (
    AlreadyExists,
    InUse,
    InvalidSetting,
    NotFound,
    StateConflict,
    VerificationFailed,
)
from mailferry.service.context import ServiceContext
from mailferry.service.statuses import RUNNING_BATCH
from mailferry.state.migration_records import Endpoint
from mailferry.values.connection import AuthMethod, Security, default_port

if TYPE_CHECKING:  # the check loads the IMAP client: only when a server is checked
    from mailferry.service.endpoints.server_check import ServerCheckReport

DEFAULT_MAX_MIGRATIONS = 20
DEFAULT_MAX_INCREMENTAL = 10
MAX_CONCURRENCY = 100


@dataclass(frozen=True)
class EndpointChanges:
    """New-MigrationEndpoint's parameters (for Set, None means "unchanged")."""

    remote_server: str | None = None
    port: int | None = None
    security: str | None = None
    authentication: str | None = None
    max_concurrent_migrations: int | None = None
    max_concurrent_incremental_syncs: int | None = None
    accept_untrusted_certificates: bool | None = None
    ca_file: str | None = None


async def new_endpoint(
    ctx: ServiceContext, name: str, changes: EndpointChanges, *, skip_verification: bool = False
) -> Endpoint:
    problems = [] if name.strip() else ["Name must not be empty"]
    if changes.remote_server is None or not changes.remote_server.strip():
        problems.append("RemoteServer is required")
    if ctx.store.endpoint(name) is not None:
        raise AlreadyExists("migration endpoint", name)
    security = _security(changes.security or "Ssl", problems)
    values = {
        "name": name.strip(),
        "remote_server": _host(changes.remote_server or "", problems),
        "port": changes.port if changes.port is not None else default_port(security),
        "security": security.value,
        "authentication": _authentication(changes.authentication or "Basic", problems).value,
        "max_concurrent_migrations": _or(changes.max_concurrent_migrations, DEFAULT_MAX_MIGRATIONS),
        "max_concurrent_incremental_syncs": _or(
            changes.max_concurrent_incremental_syncs, DEFAULT_MAX_INCREMENTAL
        ),
        "accept_untrusted_certificates": bool(changes.accept_untrusted_certificates),
        "ca_file": changes.ca_file,
        "created_at": ctx.now(),
    }
    _check_values(values, problems, explicit_incremental=changes.max_concurrent_incremental_syncs)
    if not skip_verification:
        await _verify(values)
    try:
        endpoint = ctx.store.add_endpoint(values)
    except StateConflict:
        raise AlreadyExists("migration endpoint", name) from None
    ctx.store.add_event("endpoint_created", ctx.now(), endpoint_id=endpoint.id, name=name)
    return endpoint


def get_endpoints(ctx: ServiceContext, name: str | None = None) -> list[Endpoint]:
    if name is None:
        return ctx.store.endpoints()
    return [get_endpoint(ctx, name)]


def get_endpoint(ctx: ServiceContext, name: str) -> Endpoint:
    found = ctx.store.endpoint(name)
    if found is None:
        raise NotFound("migration endpoint", name)
    return found


async def set_endpoint(
    ctx: ServiceContext, name: str, changes: EndpointChanges, *, skip_verification: bool = False
) -> Endpoint:
    endpoint = get_endpoint(ctx, name)
    _refuse_if_running(ctx, endpoint, "changed")
    problems: list[str] = []
    values = {k: v for k, v in dataclasses.asdict(changes).items() if v is not None}
    if not values:  # Set-MigrationEndpoint with nothing to change changes nothing
        return endpoint
    if "remote_server" in values:
        values["remote_server"] = _host(values["remote_server"], problems)
    if "security" in values:
        values["security"] = _security(values["security"], problems).value
    if "authentication" in values:
        values["authentication"] = _authentication(values["authentication"], problems).value
    merged = {**_endpoint_values(endpoint), **values}
    _check_values(merged, problems, explicit_incremental=merged["max_concurrent_incremental_syncs"])
    connection_changed = any(k in values for k in ("remote_server", "port", "security"))
    if connection_changed and not skip_verification:
        await _verify(merged)
    updated = ctx.store.update_endpoint(endpoint.id, values)
    ctx.store.add_event(
        "endpoint_changed", ctx.now(), endpoint_id=endpoint.id, changes=list(values)
    )
    return updated


def remove_endpoint(ctx: ServiceContext, name: str) -> None:
    endpoint = get_endpoint(ctx, name)
    using = ctx.store.batches(endpoint_id=endpoint.id)
    if using:
        names = ", ".join(repr(b.name) for b in using)
        raise InUse(
            f"migration endpoint {endpoint.name!r} is used by batch {names}; remove the batch first"
        )
    ctx.store.delete_endpoint(endpoint.id)
    ctx.store.add_event("endpoint_removed", ctx.now(), endpoint_id=endpoint.id, name=endpoint.name)


def connect_options(endpoint: Endpoint) -> ConnectOptions:
    return ConnectOptions(
        host=endpoint.remote_server,
        port=endpoint.port,
        security=Security.parse(endpoint.security),
        accept_untrusted_certificates=endpoint.accept_untrusted_certificates,
        ca_file=Path(endpoint.ca_file) if endpoint.ca_file else None,
    )


async def test_endpoint(endpoint: Endpoint) -> ServerCheckReport:
    """Test-MigrationServerAvailability -Endpoint: the stored settings, no login."""
    from mailferry.service.endpoints.server_check import check_server

    return await check_server(connect_options(endpoint))


def _refuse_if_running(ctx: ServiceContext, endpoint: Endpoint, what: str) -> None:
    running = [b for b in ctx.store.batches(endpoint_id=endpoint.id) if b.status in RUNNING_BATCH]
    if running:
        names = ", ".join(f"{b.name!r} ({b.status.value})" for b in running)
        raise InUse(
            f"migration endpoint {endpoint.name!r} can't be {what} while batch {names} is "
            "running; stop the batch first"
        )


def _endpoint_values(endpoint: Endpoint) -> dict[str, Any]:
    fields = EndpointChanges.__dataclass_fields__
    return {k: getattr(endpoint, k) for k in fields}


def _check_values(
    values: dict[str, Any], problems: list[str], *, explicit_incremental: int | None
) -> None:
    if not 1 <= values["port"] <= 65535:
        problems.append(f"Port {values['port']} is outside 1-65535")
    migrations = values["max_concurrent_migrations"]
    if not 1 <= migrations <= MAX_CONCURRENCY:
        problems.append(f"MaxConcurrentMigrations {migrations} is outside 1-{MAX_CONCURRENCY}")
    incremental = values["max_concurrent_incremental_syncs"]
    if explicit_incremental is None:  # the default follows a smaller MaxConcurrentMigrations
        values["max_concurrent_incremental_syncs"] = incremental = min(incremental, migrations)
    if not 1 <= incremental <= MAX_CONCURRENCY:
        problems.append(
            f"MaxConcurrentIncrementalSyncs {incremental} is outside 1-{MAX_CONCURRENCY}"
        )
    elif incremental > migrations:
        problems.append(
            f"MaxConcurrentIncrementalSyncs ({incremental}) can't be greater than "
            f"MaxConcurrentMigrations ({migrations})"
        )
    if problems:
        raise InvalidSetting(problems)


async def _verify(values: dict[str, Any]) -> None:
    options = ConnectOptions(
        host=values["remote_server"],
        port=values["port"],
        security=Security(values["security"]),
        accept_untrusted_certificates=values["accept_untrusted_certificates"],
        ca_file=Path(values["ca_file"]) if values.get("ca_file") else None,
    )
    from mailferry.service.endpoints.server_check import check_server

    report = await check_server(options)
    if report.error is not None:
        raise VerificationFailed(
            f"can't reach {options.host}:{options.port} ({report.failed_step}): {report.error} "
            "(use SkipVerification to create the endpoint anyway)",
            report,
        )


def _host(text: str, problems: list[str]) -> str:
    """The host as typed; an internationalised name in its ASCII (A-label) form, which is
    what the resolver is given, so a name that can't be encoded is refused here."""
    host = text.strip()
    if host.isascii():  # as typed (an address, or a name the resolver takes as is)
        return host
    try:
        return idna.encode(host.rstrip("."), uts46=True).decode("ascii")
    except idna.IDNAError as error:
        problems.append(f"RemoteServer {host!r} is not a valid host name ({error})")
        return host


def _security(text: str, problems: list[str]) -> Security:
    try:
        return Security.parse(text)
    except ValueError as error:
        problems.append(f"Security: {error}")
        return Security.SSL


def _authentication(text: str, problems: list[str]) -> AuthMethod:
    try:
        return AuthMethod.parse(text)
    except ValueError as error:
        problems.append(f"Authentication: {error}")
        return AuthMethod.BASIC


def _or(value: int | None, default: int) -> int:
    return default if value is None else value
