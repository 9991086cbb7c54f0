"""Checks of single CSV values: e-mail addresses, control characters, UserRoot.

Each check returns None when the value is fine, or the end of a sentence that starts
with the column name ("... is not a valid e-mail address: it has no "@"."). They never
quote the value they check, so a password typed into the wrong column is not echoed.

E-mail addresses follow RFC 5321's dot-atom form with RFC 6531's internationalised
characters (``søren@contoso.dk`` is valid): no quoted local parts, no address literals,
and the domain needs a dot, as every address of a real target mailbox has one.
"""

from __future__ import annotations

import re
import string
import unicodedata

MAX_ADDRESS_OCTETS = 254
MAX_LOCAL_OCTETS = 64
MAX_LABEL_LENGTH = 63

_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: The common case, plain ASCII and well formed, in one step; anything else is looked at
#: character by character to say what is wrong (or to accept international addresses).
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_LABEL}")


def normalize_address(value: str) -> str:
    """Surrounding whitespace removed and Unicode composed (NFC); case kept."""
    return unicodedata.normalize("NFC", value.strip())


def address_key(address: str) -> str:
    """What two addresses must share to be the same mailbox (case-insensitive)."""
    return normalize_address(address).lower()


def has_control_character(value: str) -> bool:
    """True if ``value`` holds a C0/C1 control character (line breaks, tabs, NUL...)."""
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def login_value_problem(value: str) -> str | None:
    """Why ``value`` can't be a UserName or Password, or None.

    Only NUL, CR and LF are refused: an IMAP quoted string can carry every other
    character (a tab too: Excel's "Unicode text" export quotes a password holding one),
    and no login form lets anyone type a line break into a password.
    """
    if "\x00" in value or "\r" in value or "\n" in value:
        return "contains a line break or a NUL character, which can't be part of an IMAP login"
    return None


def email_address_problem(address: str) -> str | None:
    """Why ``address`` (already normalised) is not a usable mailbox address, or None."""
    return None if _is_plain_address(address) else _address_problem_in_detail(address)


def _address_problem_in_detail(address: str) -> str | None:
    if not address:
        return "is empty"
    if any(ch.isspace() for ch in address):
        return "is not a valid e-mail address: it contains a space"
    if any(unicodedata.category(ch) in _INVISIBLE for ch in address):
        return "is not a valid e-mail address: it contains a control or invisible character"
    if "@" not in address:
        return 'is not a valid e-mail address: it has no "@"'
    if address.count("@") > 1:
        return 'is not a valid e-mail address: it has more than one "@"'
    if len(address.encode()) > MAX_ADDRESS_OCTETS:
        return f"is not a valid e-mail address: it is longer than {MAX_ADDRESS_OCTETS} bytes"
    local, domain = address.split("@")
    why = _local_part_problem(local) or _domain_problem(domain)
    return None if why is None else f"is not a valid e-mail address: {why}"


def _is_plain_address(address: str) -> bool:
    return (
        _PLAIN_ADDRESS.fullmatch(address) is not None
        and len(address) <= MAX_ADDRESS_OCTETS
        and address.index("@") <= MAX_LOCAL_OCTETS
        and not address.rsplit(".", 1)[1].isdigit()
    )


def _local_part_problem(local: str) -> str | None:
    if not local:
        return 'it has nothing before the "@"'
    if len(local.encode()) > MAX_LOCAL_OCTETS:
        return f'the part before the "@" is longer than {MAX_LOCAL_OCTETS} bytes'
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return 'the part before the "@" starts or ends with a dot, or has two dots in a row'
    for ch in local:
        if ch != "." and ch not in _ATEXT and ord(ch) < 0x80:
            return f'the character "{ch}" is not allowed before the "@"'
    return None


def _domain_problem(domain: str) -> str | None:
    if not domain:
        return 'it has no domain after the "@"'
    if "." not in domain:
        return 'the domain after the "@" has no dot (such as contoso.com)'
    labels = domain.split(".")
    if any(not label for label in labels):
        return "the domain starts or ends with a dot, or has two dots in a row"
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH:
            return f"a part of the domain is longer than {MAX_LABEL_LENGTH} characters"
        if label.startswith("-") or label.endswith("-"):
            return 'a part of the domain starts or ends with "-"'
        if not all(ch == "-" or ch.isalnum() for ch in label):
            return "the domain may hold only letters, digits, hyphens and dots"
    if labels[-1].isdigit():
        return "the domain ends in a number, not a name (such as .com)"
    return None


def user_root_problem(user_root: str) -> str | None:
    """Why ``user_root`` can't name a folder subtree on the source, or None.

    ``*`` and ``%`` are IMAP LIST wildcards: a root holding them would select
    other users' folders too.
    """
    if has_control_character(user_root):
        return "contains a control character (such as a line break or a tab)"
    if "*" in user_root or "%" in user_root:
        return 'contains "*" or "%", which are IMAP wildcards and can\'t be part of a folder path'
    return None


def target_user_name_problem(name: str) -> str | None:
    """Why ``name`` can't be a login or authorization name on the target, or None."""
    if has_control_character(name):
        return "contains a control character (such as a line break or a tab)"
    if any(ch.isspace() for ch in name):
        return "contains a space, which no IMAP login name holds"
    return None
