"""The three token providers, each through its vendor's library, against a local FAKE
of the cloud's token service (``rig.token_server``, https with the rig's CA).

MSAL takes the fake as its authority (instance discovery off; it still reads the
fake's OpenID configuration and signs certificate assertions the fake verifies), and
google-auth takes it as the key file's ``token_uri`` (its JWT, signed with the key,
is verified there), so neither is tested on recorded answers alone; the generic
refresh-token grant talks plain OAuth2 to the same fake. Only the answer without
``expires_in`` is a recorded response (``httpx.MockTransport``), since the fake
always states one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mailferry.errors import InvalidSetting, TokenRequestFailed
from mailferry.rig import RigCA
from mailferry.rig.token_server import EntraApp, RefreshGrant, ServiceAccount, TokenServer
from mailferry.stores.oauth.cache import CachedTokenProvider
from mailferry.stores.oauth.refresh_token import (
    UNSTATED_LIFETIME,
    RefreshTokenSettings,
    RefreshTokenSource,
)
from mailferry.stores.oauth.settings import oauth_settings, provider_from_settings, split_pem

SECRET = "Sec-ret-7e1"
MAILBOX = "ann@contoso.example"


@pytest.fixture(scope="module")
def tokens(test_ca: RigCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    directory = tmp_path_factory.mktemp("token-server")
    with TokenServer(lifetime=3600, ca=test_ca, directory=directory) as server:
        yield server


def _token(provider: CachedTokenProvider, user: str = MAILBOX) -> str:
    return asyncio.run(provider.token(user))


def _refused(provider: CachedTokenProvider, user: str = MAILBOX) -> TokenRequestFailed:
    with pytest.raises(TokenRequestFailed) as caught:
        _token(provider, user)
    assert SECRET not in str(caught.value) and SECRET not in caught.value.reason
    return caught.value


def _entra(tokens: TokenServer, ca: RigCA, client_id: str, **more: str) -> CachedTokenProvider:
    values = {"tenant": "contoso", "client_id": client_id, "authority_host": tokens.base_url,
              "ca_file": str(ca.ca_pem_path), **more}  # fmt: skip
    return provider_from_settings("entra", values)


# -- Microsoft Entra (MSAL) ---------------------------------------------------------------


def test_entra_client_secret_token_cached_and_forced_past_msal(
    tokens: TokenServer, test_ca: RigCA
) -> None:
    tokens.add_entra_app(EntraApp("contoso", "app-secret", secret=SECRET))
    provider = _entra(tokens, test_ca, "app-secret", client_secret=SECRET)
    hits = tokens.hits["entra"]
    first = _token(provider)
    assert _token(provider) == first and _token(provider, "bob@contoso.example") == first
    assert tokens.hits["entra"] == hits + 1  # MSAL's own cache served bob's too
    issued = tokens.lookup(first)
    assert issued is not None and issued.kind == "entra" and issued.client == "app-secret"
    provider.invalidate(MAILBOX, first)  # the server refused it: MSAL must not hand it out
    second = _token(provider)
    assert second != first and tokens.hits["entra"] == hits + 2
    assert provider.expires_in(MAILBOX) == pytest.approx(3600, abs=5)


def test_entra_wrong_secret_is_refused_in_entra_words_without_the_secret(
    tokens: TokenServer, test_ca: RigCA
) -> None:
    tokens.add_entra_app(EntraApp("contoso", "app-wrong", secret="the-right-one"))
    refused = _refused(_entra(tokens, test_ca, "app-wrong", client_secret=SECRET))
    assert "invalid_client" in refused.reason and "AADSTS7000215" in refused.reason
    assert not refused.transient and tokens.refusals[-1] == "invalid_client"


def test_entra_unavailable_is_transient(tokens: TokenServer, test_ca: RigCA) -> None:
    tokens.add_entra_app(EntraApp("contoso", "app-busy", secret=SECRET))
    provider = _entra(tokens, test_ca, "app-busy", client_secret=SECRET)
    tokens.fail_next(503)
    assert _refused(provider).transient


def _certificate(tmp_path: Path, name: str) -> tuple[Path, str]:
    """A self-signed certificate and its key in one PEM file; the certificate's PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    path = tmp_path / f"{name}.pem"
    path.write_text(key_pem + cert_pem)
    return path, cert_pem


def test_entra_certificate_assertion_verified_by_the_endpoint(
    tokens: TokenServer, test_ca: RigCA, tmp_path: Path
) -> None:
    path, certificate = _certificate(tmp_path, "app-cert")
    tokens.add_entra_app(EntraApp("contoso", "app-cert", certificate_pem=certificate))
    token = _token(_entra(tokens, test_ca, "app-cert", certificate_file=str(path)))
    issued = tokens.lookup(token)
    assert issued is not None and issued.client == "app-cert"
    other, _ = _certificate(tmp_path, "someone-else")  # signed with a key Entra doesn't know
    refused = _refused(_entra(tokens, test_ca, "app-cert", certificate_file=str(other)))
    assert "AADSTS700027" in refused.reason and not refused.transient


# -- Google service account, domain-wide delegation (google-auth) -------------------------


def _service_account(tokens: TokenServer, email: str, users: set[str]) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tokens.add_service_account(ServiceAccount(email, public.decode(), frozenset(users)))
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    return {"type": "service_account", "client_email": email, "private_key": private.decode(),
            "private_key_id": "k1", "token_uri": "https://oauth2.googleapis.com/token"}  # fmt: skip


def test_google_tokens_are_per_delegated_user(tokens: TokenServer, test_ca: RigCA) -> None:
    info = _service_account(tokens, "sa@p.iam.example", {MAILBOX, "bob@contoso.example"})
    provider = provider_from_settings("google", {
        "service_account_json": json.dumps(info), "token_uri": tokens.token_uri,
        "ca_file": str(test_ca.ca_pem_path),
    })  # fmt: skip
    ann, bob = _token(provider), _token(provider, "bob@contoso.example")
    found = [tokens.lookup(ann), tokens.lookup(bob)]
    assert [(i.kind, i.user, i.client) for i in found if i is not None] == [
        ("google", MAILBOX, "sa@p.iam.example"),
        ("google", "bob@contoso.example", "sa@p.iam.example"),
    ]
    refused = _refused(provider, "carl@contoso.example")  # not delegated
    assert refused.reason.startswith("OAuth2 token request: Google: unauthorized_client")
    assert not refused.transient


def test_google_unknown_service_account_is_refused(tokens: TokenServer, test_ca: RigCA) -> None:
    info = _service_account(tokens, "known@p.iam.example", {MAILBOX})
    provider = provider_from_settings("google", {
        "service_account_json": json.dumps({**info, "client_email": "stranger@p.iam.example"}),
        "token_uri": tokens.token_uri, "ca_file": str(test_ca.ca_pem_path),
    })  # fmt: skip
    assert "invalid_grant" in _refused(provider).reason


# -- a generic refresh-token grant (httpx) --------------------------------------------------


def _refresh(tokens: TokenServer, ca: RigCA, refresh: str, **more: Any) -> CachedTokenProvider:
    values = {"token_url": tokens.token_uri, "client_id": "imap-app", "client_secret": SECRET,
              "refresh_tokens": {MAILBOX: refresh}, "ca_file": str(ca.ca_pem_path)}  # fmt: skip
    return provider_from_settings("refresh-token", {**values, **more})


@pytest.mark.parametrize("client_auth", ["body", "basic"])
def test_refresh_token_grant(tokens: TokenServer, test_ca: RigCA, client_auth: str) -> None:
    refresh = tokens.add_refresh_grant(RefreshGrant("imap-app", SECRET, MAILBOX))
    token = _token(_refresh(tokens, test_ca, refresh, client_auth=client_auth))
    issued = tokens.lookup(token)
    assert issued is not None and (issued.kind, issued.user) == ("refresh-token", MAILBOX)
    wrong = _refresh(tokens, test_ca, "rt-never-issued", client_auth=client_auth)
    assert "invalid_grant" in _refused(wrong).reason


def test_a_rotated_refresh_token_replaces_the_old_one(tokens: TokenServer, test_ca: RigCA) -> None:
    refresh = tokens.add_refresh_grant(RefreshGrant("imap-app", SECRET, MAILBOX, rotate=True))
    rotated: list[tuple[str, str]] = []
    settings = oauth_settings("refresh-token", {
        "token_url": tokens.token_uri, "client_id": "imap-app", "client_secret": SECRET,
        "refresh_tokens": json.dumps({MAILBOX: refresh}), "ca_file": str(test_ca.ca_pem_path),
    })  # fmt: skip
    assert isinstance(settings, RefreshTokenSettings)
    source = RefreshTokenSource(settings, on_rotate=lambda user, new: rotated.append((user, new)))
    provider = CachedTokenProvider(source)
    first = _token(provider)
    provider.invalidate(MAILBOX)
    second = _token(provider)  # with the rotated token: the first one is retired
    assert first != second and len(rotated) == 2 and rotated[0][0] == MAILBOX
    assert refresh not in {new for _, new in rotated}


def test_refresh_token_failures(tokens: TokenServer, test_ca: RigCA) -> None:
    refresh = tokens.add_refresh_grant(RefreshGrant("imap-app", SECRET, MAILBOX))
    provider = _refresh(tokens, test_ca, refresh)
    assert "no refresh token given for bob@x.example" in _refused(provider, "bob@x.example").reason
    tokens.fail_next(503)
    assert _refused(provider).transient
    assert _token(provider)  # the next login asks again


def test_an_answer_without_expires_in_lives_an_hour() -> None:
    """A recorded response: the fake always states ``expires_in``."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["Accept"] == "application/json"
        assert b"grant_type=refresh_token" in request.content
        return httpx.Response(200, json={"access_token": "at-1", "token_type": "Bearer"})

    settings = RefreshTokenSettings("https://idp.example/token", "c", {MAILBOX: "rt"})
    source = RefreshTokenSource(settings, transport=httpx.MockTransport(answer))
    grant = asyncio.run(source.fetch(MAILBOX, forced=False))
    assert (grant.access_token, grant.expires_in) == ("at-1", UNSTATED_LIFETIME)


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "values", "words"),
    [
        ("azure", {}, "expected entra, google, refresh-token"),
        ("entra", {"tenant": "t", "client_id": "c", "colour": "red"}, "unknown setting(s) colour"),
        ("entra", {"client_id": "c", "client_secret": SECRET}, "missing setting(s) tenant"),
        ("entra", {"tenant": "t", "client_id": "c"}, "either a client secret or a certificate"),
        (
            "entra",
            {
                "tenant": "t",
                "client_id": "c",
                "client_secret": SECRET,
                "authority_host": "http://login.example",
            },
            "is not https://HOST",
        ),
        (
            "entra",
            {"tenant": "t", "client_id": "c", "private_key_pem": SECRET},
            "missing setting(s) certificate_pem",
        ),
        ("google", {"scope": "x"}, "missing setting service_account_json"),
        ("google", {"service_account_json": "{nope"}, "is not JSON"),
        ("google", {"service_account_json": '{"client_email": "a@b"}'}, "lacks private_key"),
        (
            "refresh-token",
            {"token_url": "https://i/t", "client_id": "c", "refresh_tokens": "[1]"},
            "must map addresses",
        ),
        (
            "refresh-token",
            {"token_url": "ftp://i/t", "client_id": "c", "refresh_tokens": {"a": "b"}},
            "is not https://HOST",
        ),
    ],
)
def test_bad_settings_are_named(kind: str, values: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidSetting) as caught:
        oauth_settings(kind, values)
    assert words in str(caught.value) and SECRET not in str(caught.value)


def test_a_certificate_file_is_split_and_no_secret_is_in_a_repr(tmp_path: Path) -> None:
    path, certificate = _certificate(tmp_path, "split")
    parts = split_pem(path.read_text())
    assert parts.certificate_pem.strip() == certificate.strip()
    assert "PRIVATE KEY" in parts.private_key_pem and "PRIVATE KEY" not in repr(parts)
    with pytest.raises(InvalidSetting, match="needs a PRIVATE KEY and a CERTIFICATE"):
        split_pem(certificate)
    settings = oauth_settings("entra", {"tenant": "t", "client_id": "c", "client_secret": SECRET})
    refresh = oauth_settings("refresh-token", {"token_url": "https://i/t", "client_id": "c",
                                               "refresh_tokens": {"a": SECRET}})  # fmt: skip
    for shown in (repr(settings), repr(refresh), repr(provider_from_settings(
        "refresh-token", {"token_url": "https://i/t", "client_id": "c", "client_secret": SECRET,
                          "refresh_tokens": {"a": SECRET}}))):  # fmt: skip
        assert SECRET not in shown
