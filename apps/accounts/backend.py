"""The authentication backend for the provider's authorization code flow: mozilla-django-oidc's, with
discovery, key rotation, issuer and audience checks, and groups applied at every sign-in."""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .provider import (
    HTTP_TIMEOUT_SECONDS,
    TokenRefused,
    id_token_claims,
    library_setting,
    provider_configuration,
    userinfo_jwt_claims,
)
from .services import claim_groups, directory_sign_in


class DirectorySignInBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(library_setting)

    def __init__(self, *args, **kwargs):
        # The base reads the provider's endpoints here, but Django builds a backend for every request
        # of a signed-in person (get_user): discovery waits until a sign-in needs it.
        self.UserModel = get_user_model()

    OIDC_RP_CLIENT_ID = property(lambda self: settings.OIDC_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.OIDC_CLIENT_SECRET)
    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: provider_configuration().token_endpoint)
    OIDC_OP_USER_ENDPOINT = property(lambda self: provider_configuration().userinfo_endpoint)
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: provider_configuration().jwks_uri)

    def authenticate(self, request, **kwargs):
        # Only the callback view passes the nonce: a password form posted with ?code=&state= is not a sign-in.
        if not settings.OIDC_ISSUER or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        # The base returns inactive users too; deactivating a person must end their sessions.
        return ModelBackend.get_user(self, user_id)

    def verify_token(self, token, **kwargs) -> dict[str, Any]:
        return id_token_claims(token=token, nonce=kwargs.get("nonce"))

    def get_userinfo(self, access_token, id_token, payload) -> dict[str, Any]:
        endpoint = provider_configuration().userinfo_endpoint
        if not endpoint:
            return {}
        response = requests.get(
            endpoint, headers={"Authorization": f"Bearer {access_token}"}, timeout=HTTP_TIMEOUT_SECONDS
        )
        response.raise_for_status()
        if response.headers.get("content-type", "").lower().startswith("application/jwt"):
            return userinfo_jwt_claims(token=response.text)
        return response.json()

    def get_or_create_user(self, access_token, id_token, payload):
        claim = settings.OIDC_GROUPS_CLAIM
        try:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            # OpenID Connect Core §5.3.2: userinfo about another subject must not be used.
            if userinfo and userinfo.get("sub") != payload["sub"]:
                raise TokenRefused("The provider's userinfo is about another subject than the ID token.")
            for sent in (payload, userinfo):
                if not sent.get(claim) and claim in (sent.get("_claim_names") or {}):
                    # Entra ID's "groups overage": too many groups to list, only a pointer to
                    # Graph. Signing in would take every team away, so the sign-in stops here.
                    raise TokenRefused(
                        f"The provider sent a pointer instead of the {claim!r} claim (too many groups to list): "
                        "assign only the relevant groups to the application at the provider (docs/sso.md)."
                    )
        except TokenRefused as exc:
            # The base class turns this into a bare failure; the callback page shows the reason.
            self.request.sign_in_refused = str(exc)
            raise
        groups = claim_groups(payload, claim=claim) + claim_groups(userinfo, claim=claim)
        # The ID token's word wins where both speak: it is the signed one.
        sign_in = directory_sign_in(issuer=payload["iss"], claims={**userinfo, **payload}, groups=groups)
        return sign_in.user


def is_sign_in_callback(request, credentials=None) -> bool:
    """django-axes counts failed passwords; a callback the provider sent back is not a password guess
    (the provider guards its own passwords), and has no username to count it under."""
    return request.path == reverse("oidc_authentication_callback")
