"""Bearer-token access (``interfaces.http.auth``) on a small app with one read route and
one action, the API's error handlers, and real tokens in a SQLite state database:
401 without, with a bad or a revoked token; 403 for a read-only token on an action;
429 after repeated failures from one address (and only that address), until the
window passes; the limiter's memory stays bounded; the token never reaches a body,
a header or the log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mailferry.app import Mailferry
from mailferry.interfaces.http.auth import (
    FailureLimiter,
    ReadToken,
    WriteToken,
    read_access,
    write_access,
)
from mailferry.interfaces.http.handlers import install_error_handlers

ME = ("10.0.0.1", 40000)
OTHER = ("10.0.0.2", 40000)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def facade(tmp_path: Path) -> Iterator[Mailferry]:
    env = {"MAILFERRY_HOME": str(tmp_path), "MAILFERRY_KEY": "", "MAILFERRY_DB": ""}
    with Mailferry.open(f"sqlite:///{tmp_path / 'mailferry.db'}", env) as opened:
        yield opened


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(facade: Mailferry, clock: Clock) -> FastAPI:
    api = FastAPI()
    install_error_handlers(api)
    api.state.mailferry = facade
    api.state.auth_limiter = FailureLimiter(max_failures=10, window=60.0, clock=clock)

    @api.get("/api/v1/things")
    def things(token: ReadToken) -> dict[str, Any]:
        return {"by": token["Name"]}

    @api.post("/api/v1/things/act")
    def act(token: WriteToken) -> dict[str, Any]:
        return {"done": True, "by": token["Name"]}

    return api


def call(
    app: FastAPI, method: str, path: str, token: str | None = None, client: tuple[str, int] = ME
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return send(app, method, path, headers, client)


def send(
    app: FastAPI, method: str, path: str, headers: dict[str, str], client: tuple[str, int] = ME
) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            return await http.request(method, path, headers=headers)

    return asyncio.run(run())


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code and body["message"]


def test_no_token_bad_tokens_and_revoked_tokens_get_401(app: FastAPI, facade: Mailferry) -> None:
    secret, _ = facade.tokens.new("Ci", read_only=False)
    assert call(app, "GET", "/api/v1/things", secret).json() == {"by": "Ci"}

    missing = call(app, "GET", "/api/v1/things")
    assert_refused(missing, 401, "unauthorized")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    for headers in (
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {secret}"},
        {"Authorization": secret},
        {"Authorization": "Bearer not-a-token"},
    ):
        refused = send(app, "POST", "/api/v1/things/act", headers)
        assert_refused(refused, 401, "unauthorized")
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert call(app, "GET", "/api/v1/things", f"  {secret}  ").status_code == 200

    facade.tokens.revoke("Ci")
    assert_refused(call(app, "GET", "/api/v1/things", secret), 401, "unauthorized")


def test_a_read_only_token_reads_but_gets_403_on_an_action(app: FastAPI, facade: Mailferry) -> None:
    reader, _ = facade.tokens.new("Reader", read_only=True)
    writer, _ = facade.tokens.new("Writer", read_only=False)
    assert call(app, "GET", "/api/v1/things", reader).json() == {"by": "Reader"}
    refused = call(app, "POST", "/api/v1/things/act", reader)
    assert_refused(refused, 403, "forbidden")
    assert "Reader" in refused.json()["message"]
    assert call(app, "POST", "/api/v1/things/act", writer).json() == {"done": True, "by": "Writer"}


def test_repeated_failures_from_one_address_get_429_until_the_window_passes(
    app: FastAPI, facade: Mailferry, clock: Clock
) -> None:
    secret, _ = facade.tokens.new("Ci", read_only=False)
    bad = "mf_000000000000_" + "A" * 43
    for n in range(10):
        clock.now += 1.0
        assert call(app, "GET", "/api/v1/things", bad).status_code == 401, n
    limited = call(app, "GET", "/api/v1/things", secret)  # even a good token, from there
    assert_refused(limited, 429, "rate_limited")
    wait = int(limited.headers["Retry-After"])
    assert 1 <= wait <= 60 and limited.json()["details"] == {"retry_after": wait}
    assert call(app, "GET", "/api/v1/things", secret, client=OTHER).status_code == 200

    clock.now += wait - 0.5  # the first failure is not yet a minute old
    assert call(app, "GET", "/api/v1/things", secret).status_code == 429
    clock.now += 0.5  # it is now: one more try is allowed, and a good token works again
    assert call(app, "GET", "/api/v1/things", secret).json() == {"by": "Ci"}
    assert call(app, "GET", "/api/v1/things", bad).status_code == 401
    assert call(app, "GET", "/api/v1/things", secret).status_code == 429  # 10 in the window

    # a missing token or a read-only refusal is not a guess: not counted
    clock.now += 120
    for _ in range(20):
        assert call(app, "GET", "/api/v1/things", client=OTHER).status_code == 401
    assert call(app, "GET", "/api/v1/things", secret, client=OTHER).status_code == 200


def test_the_limiter_remembers_a_bounded_number_of_addresses() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=3, window=60.0, max_clients=100, clock=clock)
    for n in range(5000):
        limiter.failed(f"10.1.{n // 256}.{n % 256}")
    assert len(limiter) == 100
    for _ in range(3):
        limiter.failed("10.9.9.9")
    assert limiter.retry_after("10.9.9.9") == 60
    assert limiter.retry_after("10.1.0.0") is None  # forgotten (the oldest)
    clock.now += 61
    assert limiter.retry_after("10.9.9.9") is None
    assert limiter.retry_after("10.9.9.9") is None and len(limiter) == 100 - 1


def test_tokens_never_reach_a_body_a_header_or_the_log(
    app: FastAPI, facade: Mailferry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret, view = facade.tokens.new("Ci", read_only=True)
    assert secret not in repr(view)
    wrong = "mf_0123456789ab_" + "Z" * 43
    responses = [
        call(app, "GET", "/api/v1/things", secret),
        call(app, "POST", "/api/v1/things/act", secret),
        *(call(app, "GET", "/api/v1/things", wrong) for _ in range(12)),
    ]
    assert [r.status_code for r in responses] == [200, 403] + [401] * 10 + [429] * 2
    for response in responses:
        shown = response.text + repr(response.headers)
        assert secret not in shown and wrong not in shown and "ZZZZ" not in shown
    assert "failed token attempts" in caplog.text  # the block is logged, without the token
    assert secret not in caplog.text and "ZZZZ" not in caplog.text


def test_the_real_api_is_guarded_by_these_dependencies(facade: Mailferry) -> None:
    """``create_app`` with ``read_access``/``write_access``, as ``mailferry api`` builds it:
    every route needs a token, actions a read-write one (the check comes before the
    route: an unknown batch is 401/403, not 404, without the right token)."""
    from mailferry.interfaces.http.app import create_app

    api = create_app(facade, read_access=read_access, write_access=write_access)
    reader, _ = facade.tokens.new("Reader", read_only=True)
    writer, _ = facade.tokens.new("Writer", read_only=False)
    assert_refused(call(api, "GET", "/api/v1/batches"), 401, "unauthorized")
    assert call(api, "GET", "/api/v1/batches", reader).json() == []
    assert_refused(call(api, "POST", "/api/v1/batches/Nope/start", reader), 403, "forbidden")
    assert_refused(call(api, "DELETE", "/api/v1/batches/Nope", reader), 403, "forbidden")
    assert_refused(call(api, "POST", "/api/v1/batches/Nope/start", writer), 404, "not_found")
    assert call(api, "GET", "/api/openapi.json").status_code == 200  # the schema is public
