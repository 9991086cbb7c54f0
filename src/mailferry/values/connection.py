"""How a server is reached and logged in to, as Exchange's parameters name it."""

from __future__ import annotations

from enum import StrEnum


class Security(StrEnum):
    """Transport security, named as Exchange's ``-Security`` parameter names them."""

    NONE = "None"
    SSL = "Ssl"  # implicit TLS from the first byte (port 993)
    TLS = "Tls"  # STARTTLS on a plain connection (port 143); never continues in clear

    @classmethod
    def parse(cls, text: str) -> Security:
        """Case-insensitive parse of ``None``/``Ssl``/``Tls``."""
        for member in cls:
            if member.value.lower() == text.strip().lower():
                return member
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown security {text!r}; expected one of {choices}")


def default_port(security: Security) -> int:
    """993 for implicit TLS, 143 otherwise."""
    return 993 if security is Security.SSL else 143


class AuthMethod(StrEnum):
    """How to log in, named as Exchange's ``-Authentication`` parameter names them."""

    BASIC = "Basic"
    PLAIN = "Plain"
    NTLM = "Ntlm"
    XOAUTH2 = "XOAuth2"

    @classmethod
    def parse(cls, text: str) -> AuthMethod:
        for member in cls:
            if member.value.lower() == text.strip().lower():
                return member
        choices = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown authentication {text!r}; expected one of {choices}")
