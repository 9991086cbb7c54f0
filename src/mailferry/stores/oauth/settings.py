"""The constructor the interfaces call: an OAuth2 provider from its settings.

``--oauth-provider entra|google|refresh-token`` names the kind; its settings arrive as
a mapping of strings (options, a vault's JSON), checked here with every problem named
(``InvalidSetting``). Keys, ``*`` marking the secret ones (kept in the vault)::

    entra          tenant, client_id, client_secret*  or  certificate_file* (one PEM with
                   the private key and the certificate)  or  private_key_pem* and
                   certificate_pem, private_key_passphrase*; authority_host, scope, ca_file
    google         service_account_json* (the key file's text)  or  service_account_file*;
                   scope, token_uri, ca_file
    refresh-token  token_url, client_id, client_secret*, refresh_tokens* (address ->
                   refresh token, a mapping or its JSON), scope, client_auth (body|basic),
                   ca_file
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from mailferry.errors import InvalidSetting
from mailferry.stores.oauth.cache import DEFAULT_MARGIN, CachedTokenProvider, TokenSource
from mailferry.stores.oauth.entra import EntraCertificate, EntraSettings, EntraTokenSource
from mailferry.stores.oauth.google import GoogleSettings, GoogleTokenSource
from mailferry.stores.oauth.refresh_token import RefreshTokenSettings, RefreshTokenSource

OAuthSettings = EntraSettings | GoogleSettings | RefreshTokenSettings
PROVIDER_KINDS: Final = ("entra", "google", "refresh-token")
_KEYS: Final[dict[str, frozenset[str]]] = {
    "entra": frozenset({"tenant", "client_id", "client_secret", "certificate_file",
                        "private_key_pem", "certificate_pem", "private_key_passphrase",
                        "authority_host", "scope", "ca_file"}),
    "google": frozenset({"service_account_json", "service_account_file", "scope",
                         "token_uri", "ca_file"}),
    "refresh-token": frozenset({"token_url", "client_id", "client_secret", "refresh_tokens",
                                "scope", "client_auth", "ca_file"}),
}  # fmt: skip
SECRET_KEYS: Final = frozenset({"client_secret", "private_key_pem", "private_key_passphrase",
                                "service_account_json", "refresh_tokens"})  # fmt: skip
"""Settings whose values are secrets: from a file or the environment, never a flag."""
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----\s*", re.DOTALL)


def token_provider(
    settings: OAuthSettings,
    *,
    margin: float = DEFAULT_MARGIN,
    on_rotate: Callable[[str, str], None] | None = None,
) -> CachedTokenProvider:
    """The renewing ``TokenProvider`` for ``XOAuth2(...)``; ``on_rotate(address, token)``
    receives a refresh token the server replaced (refresh-token grants only)."""
    source: TokenSource
    if isinstance(settings, EntraSettings):
        source = EntraTokenSource(settings)
    elif isinstance(settings, GoogleSettings):
        source = GoogleTokenSource(settings)
    else:
        source = RefreshTokenSource(settings, on_rotate=on_rotate)
    return CachedTokenProvider(source, margin=margin)


def provider_from_settings(
    kind: str, values: Mapping[str, Any], **options: Any
) -> CachedTokenProvider:
    """``token_provider(oauth_settings(kind, values), **options)``."""
    return token_provider(oauth_settings(kind, values), **options)


def oauth_settings(kind: str, values: Mapping[str, Any]) -> OAuthSettings:
    """The settings of provider ``kind`` from ``values`` (None values count as unset)."""
    given = {key: value for key, value in values.items() if value is not None and value != ""}
    if kind not in _KEYS:
        raise InvalidSetting([f"--oauth-provider {kind!r}: expected {', '.join(PROVIDER_KINDS)}"])
    unknown = sorted(set(given) - _KEYS[kind])
    if unknown:
        raise InvalidSetting([f"{kind}: unknown setting(s) {', '.join(unknown)}"])
    if kind == "entra":
        return _entra(given)
    if kind == "google":
        return _google(given)
    return _refresh_token(given)


def setting_keys(kind: str) -> frozenset[str]:
    """The settings provider ``kind`` takes (none for an unknown kind)."""
    return _KEYS.get(kind, frozenset())


def inline_files(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with the files of secrets read in (``certificate_file`` becomes
    ``private_key_pem`` and ``certificate_pem``, ``service_account_file`` becomes
    ``service_account_json``) and ``ca_file`` made absolute: what a service keeps in
    its vault, usable where those files are not."""
    given = {key: value for key, value in values.items() if value is not None and value != ""}
    if kind == "entra" and "certificate_file" in given:
        pem = split_pem(_read(kind, "certificate_file", given.pop("certificate_file")))
        given["private_key_pem"] = pem.private_key_pem
        given["certificate_pem"] = pem.certificate_pem
    if kind == "google" and "service_account_file" in given:
        path = given.pop("service_account_file")
        given["service_account_json"] = _read(kind, "service_account_file", path)
    if "ca_file" in given:
        given["ca_file"] = str(Path(str(given["ca_file"])).expanduser().resolve())
    return given


def _required(kind: str, given: Mapping[str, Any], *keys: str) -> None:
    missing = [key for key in keys if key not in given]
    if missing:
        raise InvalidSetting([f"{kind}: missing setting(s) {', '.join(missing)}"])


def _path(value: Any) -> Path | None:
    return None if value is None else Path(str(value)).expanduser()


def _read(kind: str, key: str, value: Any) -> str:
    path = Path(str(value)).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSetting([f"{kind}: {key} {str(path)!r} can't be read ({exc})"]) from exc


def _entra(given: Mapping[str, Any]) -> EntraSettings:
    _required("entra", given, "tenant", "client_id")
    certificate = None
    if "certificate_file" in given:
        certificate = split_pem(_read("entra", "certificate_file", given["certificate_file"]))
        certificate = EntraCertificate(
            certificate.private_key_pem,
            certificate.certificate_pem,
            given.get("private_key_passphrase"),
        )
    elif "private_key_pem" in given or "certificate_pem" in given:
        _required("entra", given, "private_key_pem", "certificate_pem")
        certificate = EntraCertificate(
            str(given["private_key_pem"]),
            str(given["certificate_pem"]),
            given.get("private_key_passphrase"),
        )
    extra = {key: given[key] for key in ("authority_host", "scope") if key in given}
    return EntraSettings(
        tenant=str(given["tenant"]),
        client_id=str(given["client_id"]),
        client_secret=given.get("client_secret"),
        certificate=certificate,
        ca_file=_path(given.get("ca_file")),
        **extra,
    )


def split_pem(text: str) -> EntraCertificate:
    """A PEM holding a private key and a certificate, split into the two."""
    blocks = {match.group(1): match.group(0) for match in _PEM_BLOCK.finditer(text)}
    keys = [block for label, block in blocks.items() if label.endswith("PRIVATE KEY")]
    certificate = blocks.get("CERTIFICATE")
    if not keys or certificate is None:
        raise InvalidSetting(["entra: certificate_file needs a PRIVATE KEY and a CERTIFICATE"])
    return EntraCertificate(keys[0], certificate)


def _google(given: Mapping[str, Any]) -> GoogleSettings:
    if "service_account_file" in given:
        text = _read("google", "service_account_file", given["service_account_file"])
    elif "service_account_json" in given:
        text = str(given["service_account_json"])
    else:
        raise InvalidSetting(["google: missing setting service_account_json (the key file)"])
    extra = {key: given[key] for key in ("scope", "token_uri") if key in given}
    return GoogleSettings.from_json(text, ca_file=_path(given.get("ca_file")), **extra)


def _refresh_token(given: Mapping[str, Any]) -> RefreshTokenSettings:
    _required("refresh-token", given, "token_url", "client_id", "refresh_tokens")
    tokens = given["refresh_tokens"]
    if isinstance(tokens, str):
        try:
            tokens = json.loads(tokens)
        except json.JSONDecodeError as exc:
            raise InvalidSetting(
                [f"refresh-token: refresh_tokens is not JSON ({exc.msg})"]
            ) from exc
    if not isinstance(tokens, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tokens.items()
    ):
        raise InvalidSetting(["refresh-token: refresh_tokens must map addresses to tokens"])
    return RefreshTokenSettings(
        token_url=str(given["token_url"]),
        client_id=str(given["client_id"]),
        refresh_tokens=dict(tokens),
        client_secret=given.get("client_secret"),
        scope=given.get("scope"),
        client_auth=given.get("client_auth", "body"),
        ca_file=_path(given.get("ca_file")),
    )
