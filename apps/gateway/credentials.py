"""Provider credentials: encrypted at rest with Fernet, read through a per-process snapshot."""

from __future__ import annotations

import logging

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


def _build() -> dict[tuple[str, int | None], str]:
    found = {}
    for credential in ProviderCredential.objects.all():
        try:
            found[(credential.provider, credential.team_id)] = credential_decrypt(credential.encrypted_key)
        except (InvalidToken, ImproperlyConfigured):
            # Encrypted under another GATEWAY_CREDENTIALS_KEY: the next fallback is used instead.
            logger.error("Provider credential %s cannot be decrypted with GATEWAY_CREDENTIALS_KEY", credential.pk)
    return found


provider_credentials = VersionedSnapshot("gateway-provider-credentials", _build)
provider_credentials.invalidate_on_change(ProviderCredential)


def credential_for(credentials: dict[tuple[str, int | None], str], *, provider: str, team_id: int) -> str:
    """The team's own key, else the organisation's, else the environment's (may be empty)."""
    return (
        credentials.get((provider, team_id))
        or credentials.get((provider, None))
        or {"openai": settings.GATEWAY_OPENAI_API_KEY, "anthropic": settings.GATEWAY_ANTHROPIC_API_KEY}[provider]
    )
