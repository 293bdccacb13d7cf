"""Provider credentials: encrypted at rest with Fernet, read through a per-process snapshot."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from attribution_site.snapshots import VersionedSnapshot

from .models import ProviderCredential

logger = logging.getLogger(__name__)


def _fernet() -> Fernet:
    if not settings.GATEWAY_CREDENTIALS_KEY:
        raise ImproperlyConfigured("Set GATEWAY_CREDENTIALS_KEY (a Fernet key) to store provider credentials.")
    return Fernet(settings.GATEWAY_CREDENTIALS_KEY.encode())


def credential_encrypt(raw_key: str) -> str:
    return _fernet().encrypt(raw_key.encode()).decode()


def credential_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


@dataclass(frozen=True)
class Credential:
    """What the gateway sends upstream for a call: the provider key and, for OpenAI, the
    organisation and project it bills to."""

    key: str
    organization: str = ""
    project: str = ""
    scope: str = ""  # the provider scope the key bills to (apps.gateway.recording stores it on the event)

    def headers(self, provider: str) -> list[tuple[bytes, bytes]]:
        if not self.key:
            return []  # no credential at all: the provider's own 401 comes back
        if provider == "anthropic":
            return [(b"x-api-key", self.key.encode())]
        headers = [(b"authorization", b"Bearer " + self.key.encode())]
        if self.organization:
            headers.append((b"openai-organization", self.organization.encode()))
        if self.project:
            headers.append((b"openai-project", self.project.encode()))
        return headers


def _build() -> dict[tuple[str, int | None], Credential]:
    found = {}
    for credential in ProviderCredential.objects.all():
        try:
            found[(credential.provider, credential.team_id)] = Credential(
                key=credential_decrypt(credential.encrypted_key),
                organization=credential.organization,
                project=credential.project,
                scope=credential.provider_scope or (credential.project if credential.provider == "openai" else ""),
            )
        except (InvalidToken, ImproperlyConfigured):
            # Encrypted under another GATEWAY_CREDENTIALS_KEY: the next fallback is used instead.
            logger.error("Provider credential %s cannot be decrypted with GATEWAY_CREDENTIALS_KEY", credential.pk)
    return found


provider_credentials = VersionedSnapshot("gateway-provider-credentials", _build)
provider_credentials.invalidate_on_change(ProviderCredential)


def credential_for(
    credentials: dict[tuple[str, int | None], Credential], *, provider: str, team_id: int | None
) -> Credential:
    """The charged team's own credential, else the organisation's, else the environment's key
    (may be empty). Never another team's: `team_id` is the team the call is charged to."""
    return (
        (credentials.get((provider, team_id)) if team_id is not None else None)
        or credentials.get((provider, None))
        or Credential(
            key={"openai": settings.GATEWAY_OPENAI_API_KEY, "anthropic": settings.GATEWAY_ANTHROPIC_API_KEY}[provider]
        )
    )
