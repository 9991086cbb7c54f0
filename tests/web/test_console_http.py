"""The console over HTTP (Starlette's TestClient, a real façade on SQLite): sessions,
CSRF, what needs a session, escaping of mail's text, and the pages' contents."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from mailferry.app import BatchRequest, EndpointRequest
from mailferry.interfaces.web import ROUTERS
from mailferry.interfaces.web.charts import progress_chart, progress_points
from mailferry.interfaces.web.sessions import RECHECK_SECONDS, SessionStore
from mailferry.values.results import SkippedItem
from tests.service.service_support import users_csv
from tests.web.web_support import ADMIN, HTML, Console, csrf_of, open_console, sign_in

USERS = [(f"user{n:03d}@contoso.example", f"u{n}", f"pw-{n}") for n in range(3)]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with open_console(tmp_path) as made:
        yield made


def _endpoint(console: Console, name: str = "E1") -> None:
    request = EndpointRequest(name, "imap.example")
    asyncio.run(console.facade.new_endpoint(request, skip_verification=True))


def _batch(console: Console, name: str = "B1", users: list[tuple[str, str, str]] = USERS) -> None:
    console.facade.new_batch(BatchRequest(name, "E1", users_csv(users)))


def _console_routes() -> list[tuple[str, str]]:
    found = []
    for route in (r for module in ROUTERS for r in module.router.routes):
        if not isinstance(route, APIRoute) or route.path.startswith(("/api", "/signin")):
            continue
        if route.path in ("/", "/signout"):
            continue
        path = (
            route.path.replace("{name}", "B1")
            .replace("{email}", "user000@contoso.example")
            .replace("{action}", "start")
            .replace("{fmt}", "csv")
        )
        found += [(method, path) for method in sorted(route.methods)]
    return found


def test_every_page_and_action_needs_a_session(console: Console) -> None:
    _endpoint(console)
    _batch(console)
    client = console.client()
    routes = _console_routes()
    expected = {("GET", "/batches"), ("POST", "/batches/B1/start")}
    assert expected | {("GET", "/users/user000@contoso.example")} <= set(routes)
    for method, path in routes:
        browser = client.request(method, path, headers=HTML)
        assert browser.status_code == 303, (method, path)
        assert browser.headers["location"].startswith("/signin?next=/"), (method, path)
        script = client.request(method, path, headers={"Accept": "application/json"})
        assert script.status_code == 401, (method, path)
    live = client.get("/batches/live", headers={**HTML, "X-Requested-With": "fetch"})
    assert live.status_code == 401  # the live refresh is told, not redirected
    assert console.facade.get_batch("B1")["Status"] == "Created"  # nothing was started


def test_sign_in_with_a_token_sets_a_strict_http_only_cookie(console: Console) -> None:
    client = console.client()
    form = client.get("/signin", headers=HTML)
    data = {"csrf": csrf_of(form.text), "method": "token", "token": console.token}
    done = client.post("/signin", data={**data, "next": "/endpoints"}, headers=HTML)
    assert done.status_code == 303 and done.headers["location"] == "/endpoints"
    cookie = next(c for c in done.headers.get_list("set-cookie") if "mailferry_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    page = client.get("/endpoints", headers=HTML)
    assert page.status_code == 200 and "Sign out" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_the_cookie_is_secure_over_tls(console: Console) -> None:
    client = console.client("https://testserver")
    form = client.get("/signin", headers=HTML)
    data = {"csrf": csrf_of(form.text), "method": "token", "token": console.token}
    done = client.post("/signin", data=data, headers=HTML)
    cookie = next(c for c in done.headers.get_list("set-cookie") if "mailferry_session=" in c)
    assert "Secure" in cookie


def test_sign_in_refusals_and_an_administrator(console: Console) -> None:
    client = console.client()
    form = client.get("/signin", headers=HTML)
    token = csrf_of(form.text)
    wrong = client.post("/signin", data={"csrf": token, "token": "mf_nope"}, headers=HTML)
    assert wrong.status_code == 401 and "did not sign you in" in wrong.text
    assert "mailferry_session" not in client.cookies
    bad_password = {"csrf": csrf_of(wrong.text), "method": "password", "name": ADMIN[0]}
    refused = client.post("/signin", data={**bad_password, "password": "wrong"}, headers=HTML)
    assert refused.status_code == 401
    other = console.client()  # a form posted from elsewhere: no sign-in cookie
    forged = other.post("/signin", data={"csrf": token, "token": console.token}, headers=HTML)
    assert forged.status_code == 403 and "mailferry_session" not in other.cookies
    sign_in(client, admin=True)
    assert ADMIN[0] in client.get("/batches", headers=HTML).text
    assert console.facade.admins.get(ADMIN[0])["LastSignInTime"] is not None


def test_next_is_a_path_of_this_site_only(console: Console) -> None:
    client = console.client()
    form = client.get("/signin", headers=HTML)
    data = {"csrf": csrf_of(form.text), "token": console.token, "next": "//evil.example/x"}
    done = client.post("/signin", data=data, headers=HTML)
    assert done.headers["location"] == "/batches"


def test_a_forged_post_without_the_csrf_token_is_refused(console: Console) -> None:
    _endpoint(console)
    client = console.client()
    csrf = sign_in(client, token=console.token)
    assert client.post("/endpoints/E1/remove", data={}, headers=HTML).status_code == 403
    other = client.post("/endpoints/E1/remove", data={"csrf": "x" + csrf}, headers=HTML)
    assert other.status_code == 403 and "security token" in other.text
    files = {"csv": ("u.csv", users_csv(USERS), "text/csv")}
    new = client.post("/batches/new", data={"name": "B", "endpoint": "E1"}, files=files)
    assert new.status_code == 403 and console.facade.get_batches() == []
    assert [e["Name"] for e in console.facade.get_endpoints()] == ["E1"]  # still there
    done = client.post("/endpoints/E1/remove", data={"csrf": csrf}, headers=HTML)
    assert done.status_code == 303 and console.facade.get_endpoints() == []
    assert "Endpoint &#39;E1&#39; removed." in client.get("/endpoints", headers=HTML).text


def test_a_read_only_token_looks_but_does_not_act(console: Console) -> None:
    _endpoint(console)
    _batch(console)
    client = console.client()
    csrf = sign_in(client, token=console.read_token)
    assert client.get("/batches/B1", headers=HTML).status_code == 200
    acted = client.post("/batches/B1/start", data={"csrf": csrf}, headers=HTML)
    assert acted.status_code == 403 and "read-only" in acted.text
    assert console.facade.get_batch("B1")["Status"] == "Created"


def test_sign_out_ends_the_session(console: Console) -> None:
    client = console.client()
    csrf = sign_in(client, token=console.token)
    assert client.post("/signout", data={}, headers=HTML).status_code == 403  # needs csrf
    out = client.post("/signout", data={"csrf": csrf}, headers=HTML)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert client.get("/batches", headers=HTML).status_code == 303


def test_a_revoked_token_or_removed_administrator_ends_its_sessions(console: Console) -> None:
    now = [1000.0]
    console.app.state.console_sessions = SessionStore(clock=lambda: now[0])
    by_token, by_password = console.client(), console.client()
    sign_in(by_token, token=console.token)
    sign_in(by_password, admin=True)
    console.facade.tokens.revoke("admin")
    console.facade.admins.remove(ADMIN[0])
    assert by_token.get("/batches", headers=HTML).status_code == 200  # not checked yet
    now[0] += RECHECK_SECONDS + 1
    for client in (by_token, by_password):
        assert client.get("/batches", headers=HTML).status_code == 303


def test_html_from_mail_is_shown_escaped(console: Console) -> None:
    _endpoint(console)
    _batch(console)
    store = console.facade._ctx.store
    batch = store.batch("B1")
    assert batch is not None
    user = store.users(batch_id=batch.id)[0]
    evil = "<script>alert(1)</script>"
    item = SkippedItem(
        folder=f"Inbox/{evil}", source_uid=7, kind="LargeItem", subject=f"Hi {evil}",
        sender=f'"{evil}" <x@evil.example>', date=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        size=40_000_000, reason="too large",
    )  # fmt: skip
    store.record_skipped(store.mailbox_id(user.mailbox_key), [item])
    client = console.client()
    sign_in(client, token=console.token)
    page = client.get(f"/users/{user.email_address}", headers=HTML)
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert page.text.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3
    assert "40.0 MB" in page.text and "LargeItem" in page.text


def test_a_refused_csv_lists_every_row_and_creates_nothing(console: Console) -> None:
    _endpoint(console)
    client = console.client()
    csrf = sign_in(client, token=console.token)
    rows = [*USERS, ("not-an-address", "u9", "pw"), ("user001@contoso.example", "dup", "pw")]
    files = {"csv": ("users.csv", users_csv(rows), "text/csv")}
    data = {"csrf": csrf, "name": "New1", "endpoint": "E1", "exclude_folders": "Junk\nTrash"}
    refused = client.post("/batches/new", data=data, files=files, headers=HTML)
    assert refused.status_code == 422
    assert "2 problems" in refused.text and "Nothing was created" in refused.text
    table = refused.text.split('id="csv-problems"')[1]
    assert ">5</td>" in table and ">6</td>" in table and "EmailAddress" in table
    assert 'value="New1"' in refused.text and "Junk\nTrash" in refused.text  # kept
    assert console.facade.get_batches() == []
    files = {"csv": ("users.csv", users_csv(USERS), "text/csv")}
    made = client.post("/batches/new", data=data, files=files, headers=HTML)
    assert made.status_code == 303 and made.headers["location"] == "/batches/New1"
    assert console.facade.get_batch("New1")["ExcludedFolders"] == ["Junk", "Trash"]


def test_the_batches_list_filters_by_status_and_name(console: Console) -> None:
    _endpoint(console)
    _batch(console, "Sales")
    _batch(console, "Finance", [("f@contoso.example", "f", "pw")])
    client = console.client()
    sign_in(client, token=console.token)
    everything = client.get("/batches", headers=HTML).text
    assert 'data-batch="Sales"' in everything and 'data-batch="Finance"' in everything
    named = client.get("/batches?q=fin", headers=HTML).text
    assert 'data-batch="Finance"' in named and 'data-batch="Sales"' not in named
    none = client.get("/batches?status=Synced", headers=HTML).text
    assert "No batches match" in none
    bad = client.get("/batches?status=Bogus", headers=HTML)
    assert bad.status_code == 200 and "Bogus" in bad.text and "flash-error" in bad.text
    live = client.get("/batches/live?q=sal", headers={"X-Requested-With": "fetch"})
    assert live.status_code == 200 and live.text.startswith('<div id="batches-live"')
    assert 'data-live-active="0"' in live.text  # nothing runs: no more refreshing


def test_users_are_paged_and_filtered_on_the_server(console: Console) -> None:
    _endpoint(console)
    many = [(f"m{n:04d}@fabrikam.example", f"m{n}", "pw") for n in range(120)]
    _batch(console, "Big", many)
    client = console.client()
    sign_in(client, token=console.token)
    seen, url = [], "/batches/Big"
    for _ in range(5):
        page = client.get(url, headers=HTML).text
        seen += [part.split('"')[0] for part in page.split('data-user="')[1:]]
        if 'id="next-page"' not in page:
            break
        url = page.split('id="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
        url = url.replace("&amp;", "&")
    assert seen == sorted(a for a, _, _ in many)
    assert "Users 101–120 of 120" in page
    synced = client.get("/batches/Big?status=Synced", headers=HTML).text
    assert "No users with status Synced" in synced


def test_remove_asks_first_and_warns_of_the_mx_switch(console: Console) -> None:
    _endpoint(console)
    _batch(console)
    client = console.client()
    csrf = sign_in(client, token=console.token)
    confirm = client.get("/batches/B1/remove", headers=HTML)
    assert 'id="mx-warning"' in confirm.text and "MX switch was not recorded" in confirm.text
    assert console.facade.get_batch("B1")["Status"] == "Created"
    done = client.post("/batches/B1/remove", data={"csrf": csrf}, headers=HTML)
    assert done.status_code == 303 and done.headers["location"] == "/batches"
    assert console.facade.get_batch("B1")["Status"] == "Removing"


def test_actions_say_what_happened_or_why_not(console: Console) -> None:
    _endpoint(console)
    _batch(console)
    client = console.client()
    csrf = sign_in(client, token=console.token)
    refused = client.post("/batches/B1/complete", data={"csrf": csrf}, headers=HTML)
    assert refused.status_code == 303
    page = client.get("/batches/B1", headers=HTML).text
    assert "flash-error" in page and console.facade.get_batch("B1")["Status"] == "Created"
    started = client.post("/batches/B1/start", data={"csrf": csrf}, headers=HTML)
    assert started.status_code == 303
    page = client.get("/batches/B1", headers=HTML).text
    assert "starting" in page and 'data-live-active="1"' in page
    assert console.facade.get_batch("B1")["Status"] == "Starting"


def test_the_report_downloads_as_csv_and_json(console: Console) -> None:
    _endpoint(console)
    _batch(console)
    client = console.client()
    sign_in(client, token=console.token)
    as_csv = client.get("/batches/B1/report.csv")
    assert as_csv.status_code == 200 and "attachment" in as_csv.headers["content-disposition"]
    assert all(address in as_csv.text for address, _, _ in USERS)
    as_json = client.get("/batches/B1/report.json")
    assert as_json.status_code == 200 and json.loads(as_json.text)
    assert client.get("/batches/Nope/report.csv").status_code == 303


def test_the_progress_chart_accumulates_users_in_time_order() -> None:
    def view(minute: int, items: int, size: int) -> dict[str, object]:
        stamp = f"2026-12-03T10:{minute:02d}:00Z"
        key = "LastSuccessfulSyncTimestamp"
        return {key: stamp, "SyncedItemCount": items, "BytesTransferred": size}

    users = [view(5, 10, 1000), view(1, 3, 500), {"LastSuccessfulSyncTime": None}]
    points = progress_points(users)
    assert [(p.items, p.bytes) for p in points] == [(3, 500), (13, 1500)]
    svg = str(progress_chart(users))
    assert svg.count("<svg") == 2 and "<polyline" in svg and "<rect" in svg
    assert "13 items" in svg
    assert progress_chart([{"LastSuccessfulSyncTime": None}]) is None


def test_an_endpoint_in_use_is_not_removed_and_the_page_says_why(console: Console) -> None:
    _endpoint(console)
    _batch(console)
    client = console.client()
    csrf = sign_in(client, token=console.token)
    refused = client.post("/endpoints/E1/remove", data={"csrf": csrf}, headers=HTML)
    assert refused.status_code == 303
    page = client.get("/endpoints", headers=HTML).text
    assert "flash-error" in page and "B1" in page.split("flash-error")[1].split("</div>")[0]
    assert [e["Name"] for e in console.facade.get_endpoints()] == ["E1"]


def test_an_endpoint_that_fails_its_check_shows_the_steps_and_is_not_saved(
    console: Console,
) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = console.client()
    csrf = sign_in(client, token=console.token)
    form = {"csrf": csrf, "name": "Dead", "remote_server": "127.0.0.1", "port": str(port)}
    tested = client.post("/endpoints/new", data={**form, "do": "test"}, headers=HTML)
    assert tested.status_code == 200 and 'id="test-outcome">Failed' in tested.text
    assert 'class="failed"' in tested.text and 'value="Dead"' in tested.text
    made = client.post("/endpoints/new", data={**form, "do": "create"}, headers=HTML)
    assert made.status_code == 422 and 'id="test-outcome">Failed' in made.text
    assert console.facade.get_endpoints() == []
    bad = client.post("/endpoints/new", data={**form, "port": "x1"}, headers=HTML)
    assert bad.status_code == 422 and "not a whole number" in bad.text


def test_per_user_actions(console: Console) -> None:
    _endpoint(console)
    _batch(console)
    client = console.client()
    csrf = sign_in(client, token=console.token)
    email = USERS[0][0]
    sync = client.post(f"/users/{email}/sync", data={"csrf": csrf}, headers=HTML)
    assert sync.status_code == 303 and sync.headers["location"] == f"/users/{email}"
    assert "flash-error" in client.get(f"/users/{email}", headers=HTML).text  # not synced yet
    unconfirmed = client.post(f"/users/{email}/remove", data={"csrf": csrf}, headers=HTML)
    assert unconfirmed.status_code == 303 and console.facade.get_user(email)
    removed = client.post(
        f"/users/{email}/remove", data={"csrf": csrf, "confirm": "on"}, headers=HTML
    )
    assert removed.status_code == 303 and removed.headers["location"] == "/batches/B1"
    assert console.facade.get_users(batch="B1")["Total"] == len(USERS) - 1
    gone = client.get(f"/users/{email}", headers=HTML)
    assert gone.status_code == 303 and gone.headers["location"] == "/batches"


def test_the_batch_page_refreshes_its_summary_and_users_apart(console: Console) -> None:
    _endpoint(console)
    _batch(console)
    client = console.client()
    csrf = sign_in(client, token=console.token)
    client.post("/batches/B1/start", data={"csrf": csrf}, headers=HTML)
    page = client.get("/batches/B1?status=Queued", headers=HTML).text
    assert 'data-live="/batches/B1/live?part=summary"' in page
    assert 'data-live="/batches/B1/live?status=Queued&amp;part=users"' in page
    fetch = {"X-Requested-With": "fetch"}
    summary = client.get("/batches/B1/live?part=summary", headers=fetch).text
    assert summary.startswith('<section id="batch-live"') and 'data-live-active="1"' in summary
    assert 'id="batch-status">Starting<' in summary and "data-user=" not in summary
    users = client.get("/batches/B1/live?status=Queued&part=users", headers=fetch).text
    assert users.startswith('<div id="users-live"') and users.count("data-user=") == len(USERS)
    assert "<select" not in users  # the filter stays put while the table refreshes


def test_an_endpoint_is_edited_and_a_refusal_keeps_it_as_it_was(console: Console) -> None:
    _endpoint(console)
    client = console.client()
    csrf = sign_in(client, token=console.token)
    listing = client.get("/endpoints", headers=HTML).text
    assert 'href="/endpoints/E1/edit"' in listing
    form_page = client.get("/endpoints/E1/edit", headers=HTML)
    assert form_page.status_code == 200 and "Edit endpoint E1" in form_page.text
    current = console.facade.get_endpoint("E1")
    form = {
        "csrf": csrf, "do": "save", "remote_server": current["RemoteServer"],
        "port": str(current["Port"]), "security": current["Security"],
        "authentication": current["Authentication"],
    }  # fmt: skip
    caps = {"max_migrations": "7", "max_incrementals": "3"}
    saved = client.post("/endpoints/E1/edit", data={**form, **caps}, headers=HTML)
    assert saved.status_code == 303, saved.text
    after = console.facade.get_endpoint("E1")
    assert (after["MaxConcurrentMigrations"], after["MaxConcurrentIncrementalSyncs"]) == (7, 3)
    wrong = {"max_migrations": "2", "max_incrementals": "5"}  # incrementals above migrations
    refused = client.post("/endpoints/E1/edit", data={**form, **wrong}, headers=HTML)
    assert refused.status_code == 422 and "flash-error" in refused.text
    assert console.facade.get_endpoint("E1")["MaxConcurrentMigrations"] == 7
