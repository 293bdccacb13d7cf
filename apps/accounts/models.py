"""A person as the company's identity provider knows them: who they are there, and what it last said."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DirectoryIdentity(models.Model):
    """Links a local user to the provider's subject; sign-in matches on (issuer, subject), never on a name."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_identity")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, help_text="The provider's `sub`: stable, unlike a name or an email.")
    groups = models.JSONField(default=list, blank=True, help_text="The groups the provider sent at the last sign-in.")
    # What the directory granted outside teams, so that only those grants are withdrawn when its
    # groups no longer give them: is_staff or finance set by hand stay (apps.accounts.services).
    granted_staff = models.BooleanField(default=False)
    granted_finance = models.BooleanField(default=False)
    signed_in_at = models.DateTimeField()

    class Meta:
        verbose_name = "directory sign-in"
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="unique_directory_subject")]

    def __str__(self) -> str:
        return f"{self.user} ({self.subject})"
