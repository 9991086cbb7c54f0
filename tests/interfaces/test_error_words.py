"""The CLI boundary's words and exit codes (``cli/words.py``), shared words with the API
(``interfaces/error_words.py``): bad input exits 2, every other failure 1."""

from __future__ import annotations

import mailferry.errors as errors
from mailferry.errors import MailferryError
from mailferry.interfaces import error_words
from mailferry.interfaces.cli import words
from mailferry.interfaces.cli.words import EXIT_FAILED, EXIT_USAGE, describe, exit_code
from tests.test_errors_tree import every_class


def test_bad_input_exits_2_and_every_other_error_1() -> None:
    for cls in every_class():
        expected = EXIT_USAGE if issubclass(cls, errors.InputError) else EXIT_FAILED
        assert exit_code(cls.__new__(cls)) == expected, cls
    assert exit_code(errors.CsvValidationError("users.csv", [])) == EXIT_USAGE
    assert exit_code(errors.NotFound("migration batch", "B")) == EXIT_FAILED


def test_one_prefix_and_the_same_words_as_the_api() -> None:
    assert words.ERROR_PREFIX == "error: "
    assert describe is error_words.describe


def test_words_name_the_failed_step() -> None:
    dns = errors.ConnectFailed("dns", "nowhere.invalid", 993, "name not known")
    assert describe(dns) == "DNS: 'nowhere.invalid' name not known"
    tcp = errors.ConnectFailed("tcp", "127.0.0.1", 1, "connection refused")
    assert describe(tcp) == "TCP connect to 127.0.0.1:1 failed: connection refused"
    assert describe(errors.ConnectTimeout("tls", 2.5)) == "tls timed out after 2.5 s"
    assert describe(errors.RemoteProtocolError("bad line")) == "protocol error: bad line"


def test_a_password_typed_into_a_url_is_never_shown_back() -> None:
    error: MailferryError = errors.TargetSpecError(
        "--target 'imaps://admin:hunter2@mail.example:993/x' is neither maildir:PATH nor ..."
    )
    shown = describe(error)
    assert "hunter2" not in shown and "imaps://***@mail.example:993/x" in shown
    assert error_words.mask_userinfo("maildir:/srv/a@b") == "maildir:/srv/a@b"
