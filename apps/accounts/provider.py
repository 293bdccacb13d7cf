"""The company's OpenID provider: its discovered configuration, its signing keys, and the ID token checks."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation

HTTP_TIMEOUT_SECONDS = 10
# The configuration is read again after an hour; the keys whenever a token names a key not yet seen.
DISCOVERY_SECONDS = 3600
# Clock skew tolerated between this server and the provider for exp, iat and nbf.
LEEWAY_SECONDS = 60
# Asymmetric only: an HS256 token would be signed with the client secret, which this server also holds.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class ProviderUnavailable(Exception):
    """The provider could not be reached, or its discovery document is unusable."""


class TokenRefused(SuspiciousOperation):
    """A token from the provider failed a check; the message says which, for the person and the log."""


@dataclass(frozen=True)
class ProviderConfiguration:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    end_session_endpoint: str = ""
    signing_algorithms: tuple[str, ...] = ()
    token_auth_methods: tuple[str, ...] = ()

    @property
    def token_auth_basic(self) -> bool:
        """client_secret_basic is the default when the provider lists no methods (OpenID Discovery 1.0 §3)."""
        return "client_secret_post" not in self.token_auth_methods


_lock = threading.Lock()
_configurations: dict[str, tuple[float, ProviderConfiguration]] = {}
_key_sets: dict[str, list[dict[str, Any]]] = {}


def provider_cache_clear() -> None:
    with _lock:
        _configurations.clear()
        _key_sets.clear()


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"Could not read the provider's {what} at {url}: {exc}") from exc
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"The provider's {what} at {url} is not a JSON object.")
    return document


def provider_configuration() -> ProviderConfiguration:
    """OIDC_ISSUER's `/.well-known/openid-configuration`, checked to name that issuer."""
    issuer = settings.OIDC_ISSUER
    with _lock:
        cached = _configurations.get(issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_SECONDS:
        return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = _get_json(url, "discovery document")
    # The spec wants them identical; a trailing slash is the one difference seen in the wild.
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise ProviderUnavailable(f"{url} names the issuer {document.get('issuer')!r}, not OIDC_ISSUER {issuer!r}.")
    missing = [name for name in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(name)]
    if missing:
        raise ProviderUnavailable(f"{url} lacks {', '.join(missing)}.")
    configuration = ProviderConfiguration(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=document.get("userinfo_endpoint") or "",
        end_session_endpoint=document.get("end_session_endpoint") or "",
        signing_algorithms=tuple(document.get("id_token_signing_alg_values_supported") or ()),
        token_auth_methods=tuple(document.get("token_endpoint_auth_methods_supported") or ()),
    )
    with _lock:
        _configurations[issuer] = (time.monotonic(), configuration)
    return configuration


def _matching_key(keys: list[dict[str, Any]], *, kid: str | None, alg: str) -> dict[str, Any] | None:
    candidates = [
        key
        for key in keys
        if key.get("use", "sig") == "sig" and key.get("alg", alg) == alg and (kid is None or key.get("kid") == kid)
    ]
    # A token without a kid is only accepted from a provider that publishes one signing key.
    if len(candidates) != 1:
        return None
    return candidates[0]


def signing_key(*, jwks_uri: str, kid: str | None, alg: str) -> jwt.PyJWK:
    """The provider's public key for this kid: from the keys held, else from the JWKS read again, which
    is how a rotation (a new kid) is picked up without a restart."""
    with _lock:
        keys = _key_sets.get(jwks_uri)
    key = _matching_key(keys, kid=kid, alg=alg) if keys is not None else None
    if key is None:
        keys = _get_json(jwks_uri, "signing keys (JWKS)").get("keys")
        if not isinstance(keys, list):
            raise ProviderUnavailable(f"The provider's JWKS at {jwks_uri} has no list of keys.")
        with _lock:
            _key_sets[jwks_uri] = keys
        key = _matching_key(keys, kid=kid, alg=alg)
    if key is None:
        raise TokenRefused(f"The ID token is signed with a key the provider does not publish (kid {kid!r}, {alg}).")
    try:
        return jwt.PyJWK(key, algorithm=alg)
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"The provider's key {kid!r} cannot verify {alg}: {exc}") from exc


def id_token_claims(*, token: str, nonce: str) -> dict[str, Any]:
    """The claims of an ID token whose signature, issuer, audience, times and nonce all check out.

    Raises TokenRefused naming the first check that failed.
    """
    configuration = provider_configuration()
    client_id = settings.OIDC_CLIENT_ID
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"The ID token is not a readable JWT: {exc}") from exc
    alg = header.get("alg")
    allowed = [
        a for a in SIGNING_ALGORITHMS if not configuration.signing_algorithms or a in configuration.signing_algorithms
    ]
    if alg not in allowed:
        raise TokenRefused(f"The ID token is signed with {alg!r}; accepted: {', '.join(allowed)}.")
    key = signing_key(jwks_uri=configuration.jwks_uri, kid=header.get("kid"), alg=alg)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=client_id,
            issuer=configuration.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenRefused("The ID token's signature does not verify with the provider's key.") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenRefused(
            f"The ID token is for another client (aud {unverified.get('aud')!r}), not {client_id!r}."
        ) from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenRefused(
            f"The ID token is from issuer {unverified.get('iss')!r}, not {configuration.issuer!r}."
        ) from exc
    except jwt.ExpiredSignatureError as exc:
        raise TokenRefused("The ID token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"The ID token was refused: {exc}") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    # OpenID Connect Core §3.1.3.7: with several audiences, azp must name this client.
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise TokenRefused(f"The ID token names several audiences and azp {claims.get('azp')!r}, not {client_id!r}.")
    if claims.get("nonce") != nonce:
        raise TokenRefused("The ID token's nonce is not the one this sign-in sent (a replayed or foreign token).")
    return claims


def userinfo_jwt_claims(*, token: str) -> dict[str, Any]:
    """Userinfo sent as a signed JWT (application/jwt): signature, issuer and audience checked."""
    configuration = provider_configuration()
    try:
        header = jwt.get_unverified_header(token)
        key = signing_key(jwks_uri=configuration.jwks_uri, kid=header.get("kid"), alg=header.get("alg", ""))
        return jwt.decode(
            token,
            key,
            algorithms=[a for a in SIGNING_ALGORITHMS if a == header.get("alg")],
            audience=settings.OIDC_CLIENT_ID,
            issuer=configuration.issuer,
            leeway=LEEWAY_SECONDS,
        )
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"The signed userinfo was refused: {exc}") from exc


def library_setting(name: str, *default: Any) -> Any:
    """mozilla-django-oidc asks for its settings by name: the client's come from ours (read at each call,
    so a test's settings apply) and the provider's endpoints from discovery."""
    answers = {
        "OIDC_RP_CLIENT_ID": lambda: settings.OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": lambda: settings.OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": lambda: settings.OIDC_SCOPES,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": lambda: provider_configuration().authorization_endpoint,
        "OIDC_OP_TOKEN_ENDPOINT": lambda: provider_configuration().token_endpoint,
        "OIDC_OP_USER_ENDPOINT": lambda: provider_configuration().userinfo_endpoint,
        "OIDC_OP_JWKS_ENDPOINT": lambda: provider_configuration().jwks_uri,
        "OIDC_TOKEN_USE_BASIC_AUTH": lambda: provider_configuration().token_auth_basic,
        "OIDC_TIMEOUT": lambda: HTTP_TIMEOUT_SECONDS,
        "OIDC_USE_PKCE": lambda: True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": lambda: "S256",
        "OIDC_USE_NONCE": lambda: True,
        "OIDC_STORE_ID_TOKEN": lambda: True,
    }
    if name in answers:
        return answers[name]()
    return getattr(settings, name, *default) if default else getattr(settings, name)
