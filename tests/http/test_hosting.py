"""Hosting the API: the listening rules, the uvicorn server in this process, and
``mailferry api`` / ``mailferry serve --http`` as real processes over HTTPS (a trustme
CA), answering with a token, stopped by SIGTERM within a bounded time, never printing
the token."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from fastapi import FastAPI

from mailferry.app import Mailferry
from mailferry.errors import InvalidSetting
from mailferry.interfaces.http.server import (
    GRACEFUL_SECONDS,
    HttpServer,
    Listen,
    listen_address,
    run_together,
)

STOP_SECONDS = 10.0
URL = re.compile(rb"listening on (https?://[^\s]+)")


# -- the listening rules --------------------------------------------------------------


def test_loopback_is_allowed_as_given(tmp_path: Path) -> None:
    assert listen_address("127.0.0.1:8080") == Listen("127.0.0.1", 8080)
    assert listen_address("localhost:0") == Listen("127.0.0.1", 0)
    assert listen_address("[::1]:8443").url() == "http://[::1]:8443"
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    listen = listen_address("127.0.0.2:1", tls_cert=cert, tls_key=key)
    assert listen.tls and listen.url() == "https://127.0.0.2:1"


@pytest.mark.parametrize("host", ["0.0.0.0", "[::]", "192.168.1.10", "8.8.8.8", "[2001:db8::1]"])
def test_other_addresses_need_allow_remote_and_then_tls(host: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidSetting, match="--allow-remote"):
        listen_address(f"{host}:8080")
    with pytest.raises(InvalidSetting, match="needs TLS"):
        listen_address(f"{host}:8080", allow_remote=True)
    plain = listen_address(f"{host}:8080", allow_remote=True, allow_plain_http=True)
    assert not plain.tls
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    assert listen_address(f"{host}:8080", tls_cert=cert, tls_key=key, allow_remote=True).tls


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("8080", "HOST:PORT"),
        ("127.0.0.1", "HOST:PORT"),
        ("127.0.0.1:http", "HOST:PORT"),
        ("127.0.0.1:70000", "HOST:PORT"),
        (":8080", "HOST:PORT"),
        ("::1:8080", "brackets"),
        ("example.org:8080", "not an IP address"),
    ],
)
def test_malformed_addresses_are_refused_by_name(text: str, words: str) -> None:
    with pytest.raises(InvalidSetting, match=words) as refused:
        listen_address(text)
    assert "--http" in str(refused.value)


def test_tls_needs_both_files_and_real_ones(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(InvalidSetting, match="both or neither"):
        listen_address("127.0.0.1:1", tls_cert=cert)
    with pytest.raises(InvalidSetting, match=r"--tls-key .* is not a file"):
        listen_address("127.0.0.1:1", tls_cert=cert, tls_key=tmp_path / "missing.pem")
    with pytest.raises(InvalidSetting, match="cannot use them"):
        HttpServer(FastAPI(), listen_address("127.0.0.1:0", tls_cert=cert, tls_key=cert))


# -- the server in this process -----------------------------------------------------


def tiny_app() -> FastAPI:
    """Not the API (its tests are R's): what hosting needs, one route."""
    api = FastAPI()

    @api.get("/health")
    def health() -> dict[str, str]:
        return {"ok": "yes"}

    return api


def test_a_port_in_use_is_an_error_before_anything_starts() -> None:
    first = HttpServer(tiny_app(), Listen("127.0.0.1", 0))
    try:
        with pytest.raises(InvalidSetting, match=f"127.0.0.1:{first.port}: cannot listen"):
            HttpServer(tiny_app(), Listen("127.0.0.1", first.port))
    finally:
        first.close()


def test_the_server_and_the_work_stop_together() -> None:
    """The work ends with an error: the server stops too, and the error comes out."""

    async def scenario() -> tuple[int, float]:
        server = HttpServer(tiny_app(), Listen("127.0.0.1", 0), access_log=False)

        async def work() -> None:
            async with httpx.AsyncClient() as client:
                for _ in range(100):  # until the server answers
                    try:
                        answered = await client.get(f"{server.url}/health")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.05)
            assert answered.json() == {"ok": "yes"}
            raise RuntimeError(f"work failed after {answered.status_code}")

        started = time.monotonic()
        with pytest.raises(RuntimeError, match="after 200"):
            await run_together(server, work())
        return server.port, time.monotonic() - started

    port, seconds = asyncio.run(scenario())
    assert seconds < STOP_SECONDS
    with socket.socket() as probe:  # the port was released
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


# -- real processes -------------------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    root = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    paths = Tls(root / "ca.pem", root / "cert.pem", root / "key.pem")
    ca.cert_pem.write_to_path(str(paths.ca))
    issued.cert_chain_pems[0].write_to_path(str(paths.cert))
    for blob in issued.cert_chain_pems[1:]:
        blob.write_to_path(str(paths.cert), append=True)
    issued.private_key_pem.write_to_path(str(paths.key))
    return paths


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MAILFERRY_HOME": str(tmp_path / "home"),
        "MAILFERRY_DB": f"sqlite:///{tmp_path / 'mailferry.db'}",
    }


def mailferry(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailferry", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit code and how long it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=STOP_SECONDS)
        return code, time.monotonic() - started


@contextlib.contextmanager
def running(env: dict[str, str], log: Path, *args: str) -> Iterator[Running]:
    """``mailferry ARGS`` until it prints where it listens; stopped afterwards."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mailferry", *args],
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        found = None
        while found is None and time.monotonic() < deadline and process.poll() is None:
            found = URL.search(log.read_bytes())
            time.sleep(0.05)
        assert found is not None, log.read_text()
        yield Running(process, found.group(1).decode(), log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_SECONDS)


def new_token(env: dict[str, str], name: str) -> str:
    with Mailferry.open(None, env) as app:
        secret, _ = app.tokens.new(name, read_only=False)
    return secret


def token_views(env: dict[str, str]) -> list[dict[str, Any]]:
    with Mailferry.open(None, env) as app:
        return app.tokens.list()


class StreamReader:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.open = threading.Event()
        self.done = threading.Event()

    def wait(self) -> list[str]:
        assert self.done.wait(STOP_SECONDS)
        return self.lines


def read_stream_in_background(url: str, trust: ssl.SSLContext, token: str) -> StreamReader:
    """The event stream, read as a client does (until the server ends it)."""
    reader = StreamReader()
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}

    def read() -> None:
        try:
            with (
                httpx.Client(base_url=url, verify=trust, timeout=STOP_SECONDS) as client,
                client.stream("GET", "/api/v1/events", headers=headers) as stream,
            ):
                assert stream.status_code == 200
                reader.open.set()
                reader.lines.extend(stream.iter_lines())
        finally:
            reader.done.set()

    threading.Thread(target=read, daemon=True).start()
    assert reader.open.wait(STOP_SECONDS)
    return reader


def test_mailferry_api_serves_https_and_stops_on_sigterm(
    env: dict[str, str], tls: Tls, tmp_path: Path
) -> None:
    token = new_token(env, "Ci")
    log = tmp_path / "api.log"
    args = ("api", "--http", "127.0.0.1:0", "--tls-cert", str(tls.cert), "--tls-key", str(tls.key))
    with running(env, log, *args) as api:
        assert api.url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(tls.ca))
        with httpx.Client(base_url=api.url, verify=trust, timeout=10) as client:
            schema = client.get("/api/openapi.json")
            assert schema.status_code == 200 and "/api/v1/endpoints" in schema.json()["paths"]
            refused = client.get("/api/v1/endpoints")
            assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")
            listed = client.get("/api/v1/endpoints", headers={"Authorization": f"Bearer {token}"})
            assert (listed.status_code, listed.json()) == (200, [])
        with pytest.raises(httpx.TransportError):  # no plain HTTP on the TLS port
            httpx.get(api.url.replace("https", "http") + "/api/openapi.json", timeout=5)
        lines = read_stream_in_background(api.url, trust, token)
        code, seconds = api.stop()
    assert code == 0 and seconds < GRACEFUL_SECONDS  # the open stream did not hold the stop
    assert lines.wait() == ["retry: 2000", ""]  # the stream was ended cleanly
    output = log.read_text()
    assert "mailferry api: stopped" in output
    assert token not in output and token[16:] not in output


def test_serve_runs_the_scheduler_and_the_api_and_stops_both(
    env: dict[str, str], tmp_path: Path
) -> None:
    token = new_token(env, "Ops")
    log = tmp_path / "serve.log"
    with running(env, log, "serve", "--poll", "0.2s", "--http", "127.0.0.1:0") as served:
        assert served.url.startswith("http://127.0.0.1:")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=served.url, headers=headers, timeout=10) as client:
            assert client.get("/api/v1/batches").json() == []
        [seen] = token_views(env)
        assert seen["LastUsedDateTime"] is not None  # the API checked the token
        code, seconds = served.stop()
    assert code == 0 and seconds < STOP_SECONDS
    output = log.read_text()
    assert "mailferry serve: running" in output and "REST API listening" in output
    assert "stopped; running copies saved where they were" in output
    assert token not in output and token[16:] not in output


def test_a_public_address_is_refused_before_listening(env: dict[str, str]) -> None:
    refused = mailferry(env, "api", "--http", "0.0.0.0:0")
    assert refused.returncode == 2, refused.stderr
    assert "--allow-remote" in refused.stderr and "listening on" not in refused.stderr
    plain = mailferry(env, "serve", "--http", "0.0.0.0:0", "--allow-remote")
    assert plain.returncode == 2 and "needs TLS" in plain.stderr
    stray = mailferry(env, "serve", "--allow-remote")
    assert stray.returncode == 2 and "go with --http" in stray.stderr
