"""Encryption at rest of provider admin API keys (Fernet, key from BILLING_CREDENTIALS_KEY)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> Fernet:
    if not settings.BILLING_CREDENTIALS_KEY:
        raise ImproperlyConfigured("Set BILLING_CREDENTIALS_KEY to store or read provider admin API keys.")
    return Fernet(settings.BILLING_CREDENTIALS_KEY.encode())


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def secret_decrypt(token: str) -> str:
    """The plain key; a token made with another key is an error worth naming, not an empty key."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The stored admin API key cannot be decrypted with BILLING_CREDENTIALS_KEY.") from exc
