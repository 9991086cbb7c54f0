"""The HTTP boundary's one mapper (``interfaces/http/error_map.py``): status, stable code,
the CLI's words, facts in ``details``; never a secret, never internals."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

import mailferry.errors as errors
from mailferry.connection.options import ConnectOptions, Security
from mailferry.errors import MailferryError, MxCheckError, MxFailure
from mailferry.interfaces.error_words import describe
from mailferry.interfaces.http.error_map import INTERNAL_MESSAGE, http_error, status_of
from mailferry.service.endpoints.server_check import check_server
from mailferry.service.migration_spec import parse_target
from mailferry.service.mx.names import parse_domain
from mailferry.service.statuses import BatchAction, BatchStatus, UserStatus, check_action
from mailferry.service.users_csv.parse import parse_users_csv
from tests.test_errors_tree import every_class

SECRET = "pw-Secret-9f3"


def raised(action: Any, *args: Any, **kwargs: Any) -> MailferryError:
    with pytest.raises(MailferryError) as caught:
        action(*args, **kwargs)
    return caught.value


def test_a_refused_csv_is_422_with_every_problem_by_row() -> None:
    data = f"EmailAddress,UserName,Password\nnot-an-address,alice,{SECRET}\nb@x.example,,p\n"
    error = raised(parse_users_csv, data.encode(), source_name="users.csv")
    status, body = http_error(error)
    assert status == 422 and body["code"] == "csv_rejected"
    assert body["message"] == describe(error)
    problems = body["details"]["problems"]
    assert [p["row"] for p in problems] == [2, 3]
    assert problems[0] == {
        "row": 2,
        "column": "EmailAddress",
        "code": "invalid_email",
        "message": problems[0]["message"],
    }
    assert problems[0]["message"].startswith("Row 2: EmailAddress")
    assert body["details"]["source"] == "users.csv"
    assert SECRET not in json.dumps(body)


def test_a_whole_file_problem_has_no_row() -> None:
    status, body = http_error(raised(parse_users_csv, b"", source_name="empty.csv"))
    assert status == 422 and [p["row"] for p in body["details"]["problems"]] == [None]


def test_not_found_is_404_naming_what() -> None:
    status, body = http_error(errors.NotFound("migration batch", "Wave 1"))
    assert status == 404
    assert body == {
        "code": "not_found",
        "message": "migration batch 'Wave 1' was not found",
        "details": {"kind": "migration batch", "name": "Wave 1"},
    }


def test_conflicts_with_what_exists_are_409() -> None:
    refused = raised(check_action, "Wave 1", BatchAction.COMPLETE, BatchStatus.CREATED)
    status, body = http_error(refused)
    assert (status, body["code"]) == (409, "action_not_allowed")
    assert body["details"] == {"batch": "Wave 1", "action": "Complete", "status": "Created"}
    assert "it has not been started" in body["message"]
    for error, code in [
        (errors.AlreadyExists("migration endpoint", "E1"), "already_exists"),
        (errors.InUse("endpoint 'E1' is used by running batch 'B'"), "in_use"),
        (errors.RemoveRefused("user a@x last synced before the MX switch"), "remove_refused"),
    ]:
        assert http_error(error)[0] == 409 and http_error(error)[1]["code"] == code


def test_a_user_action_refusal_names_the_user() -> None:
    error = errors.UserActionNotAllowed(
        "a@x.example", BatchAction.STOP, "B", BatchStatus.SYNCING, UserStatus.STOPPED, "why"
    )
    status, body = http_error(error)
    assert (status, body["code"]) == (409, "user_action_not_allowed")
    assert body["details"]["user"] == "a@x.example" and body["details"]["batch"] == "B"


def test_an_invalid_setting_is_422_with_its_problems() -> None:
    status, body = http_error(errors.InvalidSetting(["MaxConcurrentMigrations: 1..100", "x"]))
    assert (status, body["code"]) == (422, "invalid_setting")
    assert body["details"]["problems"] == [{"message": "MaxConcurrentMigrations: 1..100"},
                                           {"message": "x"}]  # fmt: skip


def test_an_unknown_exception_is_500_without_its_text() -> None:
    status, body = http_error(RuntimeError(f"boom at /srv/secret/{SECRET}"))
    assert status == 500
    assert body == {"code": "internal", "message": INTERNAL_MESSAGE, "details": {}}


def test_the_service_own_failures_keep_their_code_but_not_their_text() -> None:
    detail = f"UNIQUE constraint failed: tokens.hash ({SECRET})"
    for error in (
        errors.StateConflict("add_token", detail),
        errors.StateError("open", detail),
        errors.VaultError(f"can't read the vault key file /etc/{SECRET}"),
        errors.InvalidTransition(f"batch status Created -> Completed ({SECRET})"),
    ):
        status, body = http_error(error)
        assert status == 500 and body["code"] == error.error_code, error
        assert body["message"] == INTERNAL_MESSAGE and SECRET not in json.dumps(body)


def test_state_unavailable_is_503_without_the_driver_words() -> None:
    status, body = http_error(errors.StateUnavailable("list_batches", f"locked {SECRET}"))
    assert (status, body["code"]) == (503, "state_unavailable")
    assert body["details"] == {"transient": True} and SECRET not in json.dumps(body)


def test_a_remote_server_is_502_503_or_504() -> None:
    cases: list[tuple[MailferryError, int]] = [
        (errors.ConnectFailed("tcp", "mail.example", 993, "connection refused"), 502),
        (errors.AuthenticationError("[AUTHENTICATIONFAILED] bad credentials"), 502),
        (errors.ConnectTimeout("tcp", 10), 504),
        (errors.CommandTimeout("FETCH", 60), 504),
        (MxCheckError(MxFailure.TIMEOUT, "example.com", "no nameserver answered"), 504),
        (errors.Throttled("APPEND", "NO", "THROTTLED", "slow down", 2.0), 503),
        (errors.ServerBye("shutting down"), 503),
        (errors.NotificationError("smtp.example:25", "login", "535 refused"), 502),
    ]
    for error, expected in cases:
        status, body = http_error(error)
        assert status == expected, error
        assert body["details"]["transient"] is error.transient
        assert body["message"] == describe(error)


def test_a_bad_mx_input_is_422() -> None:
    error = raised(parse_domain, "bad..example")
    status, body = http_error(error)
    assert (status, body["code"]) == (422, "mx_check_failed")
    assert body["details"]["failure"] == "InvalidInput"


def test_a_failed_endpoint_verification_is_422_with_the_steps() -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ConnectOptions(host="127.0.0.1", port=port, security=Security.NONE)
    report = asyncio.run(check_server(options))
    assert report.error is not None
    status, body = http_error(errors.VerificationFailed("can't reach it", report))
    assert (status, body["code"]) == (422, "verification_failed")
    steps = body["details"]["steps"]
    assert body["details"]["failed_step"] == "tcp" == steps[-1]["name"]
    assert steps[-1]["ok"] is False and "refused" in steps[-1]["detail"]


def test_a_password_in_a_url_is_masked() -> None:
    error = raised(parse_target, f"ftp://admin:{SECRET}@mail.example")
    status, body = http_error(error)
    assert (status, body["code"]) == (422, "invalid_target")
    assert SECRET not in body["message"] and "ftp://***@mail.example" in body["message"]


def test_every_class_maps_to_a_status_by_its_radius() -> None:
    for cls in every_class():
        error = cls.__new__(cls)
        if cls is MxCheckError:
            error.failure = MxFailure.REFUSED
        status = status_of(error)
        if issubclass(cls, errors.RequestError):
            assert 400 <= status < 500, cls
        elif issubclass(cls, errors.ServerError | errors.UserError | errors.FolderError):
            assert status in (422, 500, 502, 503, 504), cls
        else:
            assert status in (500, 503), cls
