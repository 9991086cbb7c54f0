"""No response ever carries a secret: endpoints and batches are made with known
passwords (users' CSV passwords, the target admin password, per-user target logins),
known tokens and a known vault key; then every route is called (reads, actions, errors,
the schema, the report, the event stream) and each body and header is searched for them,
and for any Fernet ciphertext (what the vault stores)."""

from __future__ import annotations

from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from tests.http.api_support import API, SseReader, api_env, open_api, users_csv

USER_PASSWORDS = ("user-pw-Tr0ub4dor", "user-pw-c0rrect-h0rse")
TARGET_PASSWORD = "target-admin-pw-5ecret"
TARGET_LOGIN_PASSWORD = "per-user-target-pw-9f9f"
FERNET_PREFIX = "gAAAAA"  # every Fernet token starts with its version byte and a timestamp


def test_no_secret_in_any_response(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    env = api_env(tmp_path, MAILFERRY_KEY=key)
    with open_api(tmp_path, env) as api:
        secrets = [
            *USER_PASSWORDS,
            TARGET_PASSWORD,
            TARGET_LOGIN_PASSWORD,
            key,
            api.token,
            api.read_token,
        ]
        http = api.client
        answers: list[httpx.Response] = []
        call = lambda method, path, **kw: answers.append(http.request(method, API + path, **kw))  # noqa: E731

        call(
            "POST",
            "/endpoints?skipVerification=true",
            json={"Name": "Src", "RemoteServer": "127.0.0.1"},
        )
        users = users_csv([
            ("ann@example.com", "ann", USER_PASSWORDS[0]),
            ("bob@example.com", "bob", USER_PASSWORDS[1]),
        ])  # fmt: skip
        settings = {
            "Name": "Admin", "SourceEndpoint": "Src", "Target": "imaps://127.0.0.1:9993",
            "TargetUser": "admin", "TargetPassword": TARGET_PASSWORD,
        }  # fmt: skip
        call("POST", "/batches", data=settings, files={"csv": ("u.csv", users, "text/csv")})
        logins = users_csv([
            ("ann@example.com", "ann-target", TARGET_LOGIN_PASSWORD),
            ("bob@example.com", "bob-target", TARGET_LOGIN_PASSWORD),
        ])  # fmt: skip
        per_user = {
            "Name": "PerUser", "SourceEndpoint": "Src", "Target": "imap://127.0.0.1:9143",
            "TargetLogin": "per-user",
        }  # fmt: skip
        other = users.replace(b"@example.com", b"@other.example")
        files = {"csv": ("u.csv", other, "text/csv"), "TargetCsv": ("t.csv", logins, "text/csv")}
        call("POST", "/batches", data=per_user, files=files)
        assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
        bad_row = (
            b"EmailAddress,UserName,Password\r\nnot-an-address,x,"
            + USER_PASSWORDS[0].encode()
            + b"\r\n"
        )
        call(
            "POST",
            "/batches?Name=Bad&SourceEndpoint=Src",
            content=bad_row,
            headers={"Content-Type": "text/csv"},
        )
        assert answers[-1].status_code == 422

        for path in (
            "/endpoints", "/endpoints/Src", "/batches", "/batches/Admin", "/batches/PerUser",
            "/batches/Admin/users", "/users", "/users/ann@example.com",
            "/users/ann@example.com/statistics?includeSkippedItems=true&includeReport=true",
            "/batches/Admin/report?format=csv", "/batches/Admin/report?format=json",
            "/events?after=0&limit=1000", "/users/nobody@example.com",
        ):  # fmt: skip
            call("GET", path)
        call("PATCH", "/batches/Admin", json={"NotificationEmails": ["ops@example.com"]})
        for action in ("start", "stop", "complete", "sync"):
            call("POST", f"/batches/PerUser/{action}")
        call("POST", "/users/ann@other.example/stop")
        call("DELETE", "/users/bob@other.example")
        call("DELETE", "/batches/Admin")
        answers.append(http.get("/api/openapi.json"))
        answers.append(api.reader().post(f"{API}/batches/PerUser/start"))
        answers.append(
            httpx.get(
                f"{api.url}{API}/batches", headers={"Authorization": "Bearer " + api.token + "x"}
            )
        )

        with http.stream(
            "GET", f"{API}/events?after=0", headers={"Accept": "text/event-stream"}
        ) as live:
            stream = SseReader(live)
            stream.read(lambda r: "batch_removing" in r.kinds(), 5)
        texts = [m.data for m in stream.messages]

    assert all(a.status_code < 500 for a in answers), [(a.url, a.text) for a in answers]
    assert len(answers) > 25
    for answer in answers:
        texts.append(answer.text)
        texts.append(" ".join(f"{k}: {v}" for k, v in answer.headers.items()))
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret in a response: {text[:200]}"
        assert FERNET_PREFIX not in text
