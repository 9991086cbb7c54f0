"""The one error tree (``mailferry/errors.py``): every class has a stable machine code,
one base by blast radius, the ``transient`` the retry policy relies on, a line in the
docstring tree, and no error class lives anywhere else (the test rig's excepted)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mailferry
import mailferry.errors as errors
import mailferry.rig.errors as rig_errors
from mailferry.errors import MailferryError, MxCheckError, MxFailure

RADII: tuple[type[MailferryError], ...] = (
    errors.FolderError,
    errors.UserError,
    errors.ServerError,
    errors.BatchError,
    errors.RequestError,
    errors.ServiceError,
)
TRANSIENT = {
    errors.ConnectTimeout,
    errors.ConnectionLost,
    errors.ServerBye,
    errors.CommandTimeout,
    errors.Throttled,
    errors.MailboxLocked,
    errors.StateUnavailable,
}
SRC = Path(mailferry.__file__).parent


def every_class() -> list[type[MailferryError]]:
    found: list[type[MailferryError]] = [MailferryError]
    for cls in found:
        found += [sub for sub in cls.__subclasses__() if sub.__module__.startswith("mailferry.")]
    return found


def tree_classes() -> list[type[MailferryError]]:
    return [cls for cls in every_class() if cls.__module__ == "mailferry.errors"]


def test_every_class_has_its_own_unique_snake_case_code() -> None:
    codes: dict[str, type[MailferryError]] = {}
    for cls in every_class():
        assert "error_code" in vars(cls), f"{cls.__name__} inherits its code"
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.error_code), cls
        assert cls.error_code not in codes, (cls, codes.get(cls.error_code))
        codes[cls.error_code] = cls
    assert len(codes) > 50  # the tree and the rig's three
    assert {"not_found", "already_exists", "invalid_setting", "csv_rejected", "in_use",
            "action_not_allowed", "remove_refused", "authentication_failed",
            "quota_exceeded", "state_unavailable"} <= set(codes)  # fmt: skip


def test_every_class_has_exactly_one_base_by_blast_radius() -> None:
    for cls in every_class():
        if cls is MailferryError:
            continue
        radii = [base for base in RADII if issubclass(cls, base)]
        assert len(radii) == 1, (cls, radii)
    assert issubclass(rig_errors.DovecotStartError, errors.RequestError)


def test_transient_is_what_the_retry_policy_relies_on() -> None:
    for cls in every_class():
        assert cls.transient is (cls in TRANSIENT), cls
    timeout = MxCheckError(MxFailure.TIMEOUT, "example.com", "no answer")
    assert timeout.transient and not MxCheckError(MxFailure.REFUSED, "x", "r").transient


def test_existing_isinstance_relations_are_kept() -> None:
    assert issubclass(errors.Throttled, errors.CommandFailed)
    assert issubclass(errors.PrepareFailed, errors.FolderError)
    assert issubclass(errors.UserActionNotAllowed, errors.ActionNotAllowed)
    assert issubclass(errors.ResponseTooLarge, errors.RemoteProtocolError)
    assert issubclass(errors.StateUnavailable, errors.StateError)
    # what the engine skips as one folder must not swallow what fails the user
    for user_level in (errors.QuotaExceeded, errors.MailboxNotFound, errors.MailboxLocked):
        assert not issubclass(user_level, errors.FolderError | errors.CommandFailed)


def docstring_tree() -> list[tuple[int, str, str, str]]:
    """(depth, class name, code, transient mark) per line of the tree in the docstring."""
    assert errors.__doc__ is not None
    rows = []
    for line in errors.__doc__.splitlines():
        found = re.match(r"^ {4}(?P<lead>[│ ]*(?:[├└]── )?)(?P<name>[A-Z]\w+)\s+"
                         r"(?P<mark>\(T\*?\)\s+)?(?P<code>[a-z_]+)(?:\s|$)", line)  # fmt: skip
        if found:
            depth = len(found["lead"]) // 4
            rows.append((depth, found["name"], found["code"], (found["mark"] or "").strip()))
    return rows


def test_the_docstring_tree_matches_the_classes() -> None:
    rows = docstring_tree()
    by_name = {cls.__name__: cls for cls in tree_classes()}
    assert [name for _, name, _, _ in rows] != [] and len(rows) == len(by_name)
    parents: list[str] = []
    for depth, name, code, mark in rows:
        cls = by_name[name]
        parents[depth:] = [name]
        if depth:
            assert cls.__bases__ == (by_name[parents[depth - 1]],), name
        assert code == cls.error_code, name
        assert (mark == "(T)") is cls.transient, name
        assert (mark == "(T*)") is (cls is MxCheckError), name


def class_defs(path: Path) -> list[ast.ClassDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def base_names(node: ast.ClassDef) -> set[str]:
    names = set()
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.add(base.id)
        elif isinstance(base, ast.Attribute):
            names.add(base.attr)
    return names


def test_no_error_class_is_defined_outside_errors_py() -> None:
    """Read every source file: a class whose base is an error class (or a class derived
    from one there) is defined only in errors.py, or in the test rig."""
    known = {cls.__name__ for cls in tree_classes()}
    files = [p for p in SRC.rglob("*.py") if p != SRC / "errors.py"]
    outside: list[str] = []
    changed = True
    while changed:  # a class derived from one found outside is found too
        changed = False
        for path in files:
            for node in class_defs(path):
                where = f"{path.relative_to(SRC)}:{node.lineno} {node.name}"
                if base_names(node) & known and where not in outside:
                    outside.append(where)
                    known.add(node.name)
                    changed = True
    assert outside, "the rig's errors should have been found"
    assert [w for w in outside if not w.startswith("rig/")] == []
    assert not (SRC / "service" / "service_errors.py").exists()


def test_every_class_says_what_it_is_in_its_own_docstring() -> None:
    assert [cls for cls in every_class() if not vars(cls).get("__doc__")] == []
