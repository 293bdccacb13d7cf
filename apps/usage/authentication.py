"""`Authorization: Bearer <key>` authentication for services sending events."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .keys import api_key_lookup


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Sets request.auth to an ApiKeyInfo; request.user stays anonymous (a key is not a person)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme != self.keyword or not raw_key.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        key = api_key_lookup(raw_key.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if key.refusal:
            raise exceptions.PermissionDenied(key.refusal)
        return AnonymousUser(), key

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.usage.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key created in the admin."}
