"""Schemathesis against the running app (a real uvicorn): every operation of the OpenAPI
schema with generated valid and invalid input, on a database seeded with the names
the schema's examples use (IMAPEndpoint, IMAPBatch1, terry.adams@contoso.com), so many
paths exist. No 500s; status codes, content types, headers and bodies match the schema;
invalid input is refused. Bounded: a few examples per operation, about a minute in all.

Nothing leaves the machine: endpoint and tested servers are pinned to 127.0.0.1 (and
endpoints created without verification), MX checks ask a DNS server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mailferry.app import Mailferry
from mailferry.interfaces.http.schemas import HOST_PATTERN
from tests.dns_server import LoopbackDnsServer
from tests.http.api_support import API, Api, api_env, bearer, open_api, upload, users_csv

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
SEED_USERS = [
    ("terry.adams@contoso.com", "terry", "pw-terry"),
    ("ann.beebe@contoso.com", "ann", "pw-ann"),
]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    home: Path = tmp_path_factory.mktemp("schemathesis")
    with open_api(home) as api:
        endpoint = {"Name": "IMAPEndpoint", "RemoteServer": "127.0.0.1", "Port": 1}
        assert api.client.post(f"{API}/endpoints?skipVerification=true", json=endpoint).is_success
        made = upload(
            api.client, users_csv(SEED_USERS), Name="IMAPBatch1", SourceEndpoint="IMAPEndpoint"
        )
        assert made.is_success, made.text
        yield api


ZONE = """
$TTL 300
@                 SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@                 NS  ns.test.
contoso.com.      MX  0  contoso-com.mail.protection.outlook.com.
"""
SEED_PATHS = {"name": "IMAPBatch1", "email": "terry.adams@contoso.com", "domain": "contoso.com"}
EXAMPLES = 10
PHASES = (Phase.explicit, Phase.generate)
"""No shrinking: the server's state moves on, so a replay would not meet the same API."""
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=PHASES,
    suppress_health_check=list(HealthCheck),
)


def strategies(operation: APIOperation, dns: str) -> list[tuple[str, SearchStrategy[Case]]]:
    """Valid input, invalid input (when there is a query, header or body to spoil: any
    text is a valid path segment), and valid input on the seeded names."""
    names = {p.name for p in operation.iter_parameters() if p.location == "path"}
    others = [p for p in operation.iter_parameters() if p.location != "path"]
    can_be_invalid = bool(others or operation.get_request_payload_content_types())
    modes = list(GenerationMode) if can_be_invalid else [GenerationMode.POSITIVE]
    found = [(mode.value, operation.as_strategy(mode)) for mode in modes]
    if names:
        seeds = {k: v for k, v in SEED_PATHS.items() if k in names}
        if "endpoints" in operation.path:
            seeds["name"] = "IMAPEndpoint"
        found.append(("seeded", operation.as_strategy(path_parameters=seeds)))
    return [(mode, strategy.map(lambda case: local_only(case, dns))) for mode, strategy in found]


def local_only(case: Case, dns: str) -> Case:
    """Servers on 127.0.0.1 only: an endpoint's, and the resolver of an MX check."""
    if "/endpoints" in case.operation.path and case.method in ("POST", "PATCH"):
        query: dict[str, Any] = dict(case.query or {})
        case.query = {**query, "skipVerification": "true"}
        host = case.body.get("RemoteServer") if isinstance(case.body, dict) else None
        if isinstance(host, str) and re.fullmatch(HOST_PATTERN, host):  # else: refused
            case.body = {**case.body, "RemoteServer": "127.0.0.1"}
    if case.operation.path.endswith("/test-server") and isinstance(case.body, dict):
        host = case.body.get("RemoteServer")
        if isinstance(host, str) and re.fullmatch(HOST_PATTERN, host):  # else: refused
            case.body = {**case.body, "RemoteServer": "127.0.0.1", "Port": 1, "Timeout": 1.0}
    if "/mx/" in case.operation.path:
        case.query = {**dict(case.query or {}), "nameserver": dns, "timeout": 1}
    return case


def load_schema(api: Api) -> schemathesis.BaseSchema:
    """The running app's schema; no made-up query parameters (the API ignores those,
    as HTTP APIs do: ``?_=cache-buster``), everything else as Schemathesis likes."""
    config = schemathesis.Config.from_dict({"generation": {"allow-extra-parameters": False}})
    return schemathesis.openapi.from_url(f"{api.url}/api/openapi.json", config=config)


def checks_for(operation: APIOperation) -> list[Any]:
    return [c for c in CHECKS if c is not negative_data_rejection or exact(operation)]


def exact(operation: APIOperation) -> bool:
    """Whether invalid input stays invalid on the wire: a query array takes any single
    value (``expected=true``) as a one-item list of text, so there it may not."""
    arrays = ('"array"' in json.dumps(p.definition) for p in operation.iter_parameters())
    return not any(arrays)


@pytest.fixture(scope="module")
def resolver() -> Iterator[LoopbackDnsServer]:
    with LoopbackDnsServer(ZONE) as server:
        yield server


def run(strategy: SearchStrategy[Case], checks: list[Any], token: str) -> int:
    """Call the API with ``SETTINGS.max_examples`` cases; how many calls were made."""
    calls = 0

    @SETTINGS
    @given(strategy)
    def check(case: Case) -> None:
        nonlocal calls
        calls += 1
        case.call_and_validate(headers=bearer(token), checks=checks, timeout=30)

    check()
    return calls


def test_every_operation(seeded: Api, resolver: LoopbackDnsServer) -> None:
    dns = f"127.0.0.1:{resolver.port}"
    schema = load_schema(seeded)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(p) for p in seeded.app.openapi()["paths"].values()) > 25
    failures: list[str] = []
    calls = 0
    for operation in operations:
        checks = checks_for(operation)
        for mode, strategy in strategies(operation, dns):
            try:
                calls += run(strategy, checks, seeded.token)
            except (Exception, BaseExceptionGroup) as error:  # every operation's, reported
                failures.append(f"{operation.label} ({mode}): {error}")
    assert not failures, "\n\n".join(failures)
    assert calls >= len(operations) * EXAMPLES
    assert resolver.queries  # the MX checks asked the loopback resolver


class FreshState:
    """Each scenario on its own copy of the seeded database (the app's façade swapped
    between scenarios): Hypothesis may replay a scenario, which must then meet the API
    in the same state (a name it creates is new again, not a 409)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.original = api.app.state.mailferry
        self.pristine = api.home / "pristine.db"
        backup(api.home / "mailferry.db", self.pristine)
        self.opened: list[Mailferry] = []

    def next(self) -> None:
        copy = self.api.home / f"scenario{len(self.opened)}.db"
        backup(self.pristine, copy)
        facade = Mailferry.open(f"sqlite:///{copy}", api_env(self.api.home))
        self.opened.append(facade)
        self.api.app.state.mailferry = facade

    def close(self) -> None:
        self.api.app.state.mailferry = self.original
        for facade in self.opened:
            facade.close()


def backup(source: Path, copy: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source)) as a,
        contextlib.closing(sqlite3.connect(copy)) as b,
    ):
        a.backup(b)


def test_stateful_links(seeded: Api, resolver: LoopbackDnsServer) -> None:
    """Sequences that follow the schema's links: an endpoint or a batch created, then
    read, changed, started, stopped, reported on, removed (a few short scenarios)."""
    dns = f"127.0.0.1:{resolver.port}"
    schema = load_schema(seeded)
    steps: list[str] = []

    fresh = FreshState(seeded)

    class Links(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            fresh.next()

        def before_call(self, case: Case) -> None:
            local_only(case, dns)

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": bearer(seeded.token), "timeout": 30}

        def validate_response(self, response: Any, case: Case, **kwargs: Any) -> None:
            steps.append(f"{case.method} {case.operation.path} {response.status_code}")
            checks = checks_for(case.operation)
            case.validate_response(response, checks=checks, headers=bearer(seeded.token))

    try:
        Links.run(
            settings=settings(
                max_examples=12, stateful_step_count=6, deadline=None, database=None,
                phases=PHASES, suppress_health_check=list(HealthCheck),
            )
        )  # fmt: skip
    finally:
        fresh.close()
    assert len(fresh.opened) >= 12
    followed = [s for s in steps if "{name}" in s and not s.endswith(" 404")]
    assert followed, steps  # a link was followed to a resource that existed
