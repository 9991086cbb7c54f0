"""What the fake token service (``token_server``) knows and checks of each grant: the
registrations a test makes, the tokens handed out, and the checks the real services
make of a well-formed request (Entra's client secret or certificate assertion,
Google's signed JWT with its subject and scope). A FAKE, for the tests."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

ENTRA_SCOPE: Final = "https://outlook.office365.com/.default"
GMAIL_SCOPE: Final = "https://mail.google.com/"
JWT_BEARER: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GOOGLE_AUDIENCE: Final = "https://oauth2.googleapis.com/token"
"""The audience of a service account's JWT: Google's endpoint, whatever ``token_uri`` is."""

Refusal = tuple[int, str, str]
"""An error answer: HTTP status, OAuth2 ``error``, ``error_description``."""


@dataclass(frozen=True)
class EntraApp:
    """An app registration: a secret or a certificate (PEM), and the granted mailboxes."""

    tenant: str
    client_id: str
    secret: str | None = field(default=None, repr=False)
    certificate_pem: str | None = None
    mailboxes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ServiceAccount:
    """A Google service account (its public key) and the users it may act for."""

    client_email: str
    public_key_pem: str
    users: frozenset[str]


@dataclass(frozen=True)
class RefreshGrant:
    """One user's consent: its refresh token for a client; ``rotate``: each use answers a
    new refresh token and retires the old one."""

    client_id: str
    client_secret: str | None
    user: str
    rotate: bool = False


@dataclass(frozen=True)
class Issued:
    """A token handed out: by which grant (``kind``), to which client, for which user
    (None: an app token, for the app's granted ``mailboxes``), until when (time.time)."""

    token: str = field(repr=False)
    kind: str
    client: str
    user: str | None
    mailboxes: frozenset[str]
    expires_at: float


@dataclass(frozen=True)
class Delegation:
    """A service account's JWT that checked out: who asks, for which user."""

    client_email: str
    subject: str


def entra_refusal(app: EntraApp | None, form: Mapping[str, str], endpoint: str) -> Refusal | None:
    """Why Entra would refuse this client-credentials request (None: it would not)."""
    if form.get("grant_type") != "client_credentials":
        return 400, "unsupported_grant_type", "AADSTS70003: only client_credentials here"
    if app is None:
        return 400, "unauthorized_client", "AADSTS700016: application not found in tenant"
    if form.get("scope") != ENTRA_SCOPE:
        return 400, "invalid_scope", f"AADSTS70011: scope {form.get('scope')!r} is not valid"
    if app.secret is not None:
        if not secrets.compare_digest(form.get("client_secret", ""), app.secret):
            return 401, "invalid_client", "AADSTS7000215: Invalid client secret provided."
    elif not _assertion_ok(app, form, endpoint):
        return 401, "invalid_client", "AADSTS700027: Client assertion failed validation."
    return None


def _assertion_ok(app: EntraApp, form: Mapping[str, str], endpoint: str) -> bool:
    """The client assertion is signed with the app's certificate, names it (``x5t#S256``)
    and the app, and is for this token endpoint."""
    if app.certificate_pem is None or form.get("client_assertion_type") != CLIENT_ASSERTION:
        return False
    assertion = form.get("client_assertion", "")
    certificate = x509.load_pem_x509_certificate(app.certificate_pem.encode("ascii"))
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(
            assertion,
            certificate.public_key(),  # type: ignore[arg-type]
            algorithms=["PS256", "RS256"],
            audience=endpoint,
            issuer=app.client_id,
            options={"require": ["exp", "aud", "iss", "sub"]},
        )
    except jwt.PyJWTError:
        return False
    thumbprint = str(header.get("x5t#S256", "")).rstrip("=")  # MSAL pads it
    return claims["sub"] == app.client_id and thumbprint == _thumbprint(certificate)


def _thumbprint(certificate: x509.Certificate) -> str:
    digest = certificate.fingerprint(hashes.SHA256())
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def google_grant(
    accounts: Mapping[str, ServiceAccount], form: Mapping[str, str]
) -> Delegation | Refusal:
    """A JWT-bearer grant as Google checks it: signed by a known service account's key,
    for Google's endpoint, the Gmail scope, a user the account may act for."""
    assertion = form.get("assertion", "")
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return 400, "invalid_grant", "Invalid JWT: not a JWT."
    account = accounts.get(str(unverified.get("iss")))
    if account is None:
        return 400, "invalid_grant", "Invalid grant: account not found"
    key = serialization.load_pem_public_key(account.public_key_pem.encode("ascii"))
    try:
        claims = jwt.decode(
            assertion,
            key,  # type: ignore[arg-type]
            algorithms=["RS256"],
            audience=GOOGLE_AUDIENCE,
            options={"require": ["exp", "iat", "aud", "iss", "scope"]},
        )
    except jwt.PyJWTError as exc:
        return 400, "invalid_grant", f"Invalid JWT Signature. ({type(exc).__name__})"
    subject = claims.get("sub")
    if claims["scope"] != GMAIL_SCOPE or subject not in account.users:
        return 401, "unauthorized_client", (
            "Client is unauthorized to retrieve access tokens using this method, or "
            "client not authorized for any of the scopes requested."
        )  # fmt: skip
    return Delegation(account.client_email, str(subject))
