"""Glue of the REST API tests: a façade on a fresh SQLite file, real bearer tokens, the
app served by a real uvicorn on 127.0.0.1 and called with httpx (with the scheduler
beside it in the same event loop when asked, as ``mailferry serve --http`` runs them),
and an SSE reader."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from mailferry.app import Mailferry, ServiceChanges
from mailferry.interfaces.http.app import create_app
from mailferry.interfaces.http.auth import read_access, write_access
from mailferry.interfaces.http.server import HttpServer, Listen
from mailferry.interfaces.http.sse import StreamSettings
from mailferry.rig import DovecotServer

API = "/api/v1"
FAST_STREAM = StreamSettings(poll_seconds=0.05, keepalive_seconds=0.5, progress_seconds=0.3)


@dataclass
class Api:
    facade: Mailferry
    app: FastAPI
    client: httpx.Client  # with the admin token
    token: str
    read_token: str
    home: Path
    url: str

    def reader(self) -> httpx.Client:
        """A client with the read-only token."""
        return httpx.Client(base_url=self.url, headers=bearer(self.read_token), timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_env(home: Path, **extra: str) -> dict[str, str]:
    return {"MAILFERRY_HOME": str(home), "MAILFERRY_TARGET": f"maildir:{home / 'mail'}", **extra}


@contextlib.contextmanager
def open_api(
    home: Path, env: Mapping[str, str] | None = None, *, scheduler: bool = False,
    **app_options: Any,
) -> Iterator[Api]:  # fmt: skip
    """The app on a fresh database, served; ``scheduler``: batches run too."""
    changes = ServiceChanges(poll_seconds=0.1, retry_base_seconds=1.0)
    db = f"sqlite:///{home / 'mailferry.db'}"
    with Mailferry.open(db, env or api_env(home), changes=changes) as facade:
        token, _ = facade.tokens.new("admin", read_only=False)
        read_token, _ = facade.tokens.new("viewer", read_only=True)
        options = {"stream": FAST_STREAM, **app_options}
        app = create_app(facade, read_access=read_access, write_access=write_access, **options)
        with (
            serving(app, facade, scheduler=scheduler) as url,
            httpx.Client(base_url=url, headers=bearer(token), timeout=30) as client,
        ):
            yield Api(facade, app, client, token, read_token, home, url)


def source_endpoint(server: DovecotServer, name: str = "Src") -> dict[str, Any]:
    return {
        "Name": name,
        "RemoteServer": "127.0.0.1",
        "Port": server.imaps_port,
        "Security": "Ssl",
        "CaFile": str(server.ca_pem_path),
    }


def users_csv(rows: list[tuple[str, str, str]]) -> bytes:
    lines = ["EmailAddress,UserName,Password", *(",".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


def many_users_csv(count: int, prefix: str = "u") -> bytes:
    return users_csv(
        [(f"{prefix}{i:05d}@example.com", f"{prefix}{i:05d}", f"pw-{i}") for i in range(count)]
    )


def upload(client: httpx.Client, csv: bytes, **settings: Any) -> httpx.Response:
    """POST /batches as multipart (a list setting repeats its field)."""
    data = {k: _text(v) for k, v in settings.items()}
    files = {"csv": ("users.csv", csv, "text/csv")}
    return client.post(f"{API}/batches", data=data, files=files)


def _text(value: Any) -> str | list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return value if isinstance(value, str) else json.dumps(value)


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


# -- a real server ---------------------------------------------------------------------


@contextlib.contextmanager
def serving(app: FastAPI, facade: Mailferry, *, scheduler: bool = False) -> Iterator[str]:
    """uvicorn on 127.0.0.1 (a free port) in a thread with its own event loop; with
    ``scheduler``, the façade's ``serve`` beside it. Both stop at the end; the URL."""
    server = HttpServer(app, Listen("127.0.0.1", 0), access_log=False)
    loop = asyncio.new_event_loop()
    stopped = asyncio.Event()
    errors: list[BaseException] = []

    async def main() -> None:
        tasks = [asyncio.ensure_future(server.serve())]
        if scheduler:
            tasks.append(asyncio.ensure_future(facade.serve()))
        await stopped.wait()
        server.stop()
        for task in tasks[1:]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors.extend(
            r
            for r in results
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
        )

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        wait_for(lambda: _answers(server.url), 10, "the API server to answer")
        yield server.url
    finally:
        loop.call_soon_threadsafe(stopped.set)
        thread.join(20)
        assert not thread.is_alive(), "the API server did not stop"
        loop.close()
    assert not errors, errors


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/openapi.json", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


# -- Server-Sent Events ----------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    event: str
    data: str
    id: str | None
    received: float  # time.time() when its last line arrived

    def json(self) -> Any:
        return json.loads(self.data)


class SseReader:
    """Parses an event stream as it arrives; ``comments`` counts keep-alive lines."""

    def __init__(self, response: httpx.Response) -> None:
        self.messages: list[Message] = []
        self.comments = 0
        self.retry: int | None = None
        self._lines = response.iter_lines()
        self._fields: dict[str, str] = {}

    def read(self, until: Callable[[SseReader], bool], seconds: float) -> None:
        """Read until ``until(self)`` holds (checked after each message and comment)."""
        deadline = time.monotonic() + seconds
        for line in self._lines:
            if line.startswith(":"):
                self.comments += 1
            elif line:
                name, _, value = line.partition(":")
                self._fields[name] = value.removeprefix(" ")
                continue
            else:
                self._end_message()
            if until(self):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the stream did not deliver in {seconds} s: {self.messages}")
        raise AssertionError("the stream ended")

    def _end_message(self) -> None:
        fields, self._fields = self._fields, {}
        if "data" in fields:
            event = fields.get("event", "message")
            self.messages.append(Message(event, fields["data"], fields.get("id"), time.time()))
        elif "retry" in fields:
            self.retry = int(fields["retry"])

    def kinds(self) -> list[str]:
        return [m.event for m in self.messages]
