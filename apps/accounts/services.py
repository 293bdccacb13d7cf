"""Signing a person in from the provider's claims: find or create their user, and apply their groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction
from django.utils import timezone

from apps.org.directory import DirectoryGrants, MembershipChanges, directory_grants, directory_memberships_sync
from apps.org.selectors import FINANCE_GROUP

from .models import DirectoryIdentity

USERNAME_MAX = 150


@dataclass(frozen=True)
class SignIn:
    user: AbstractUser
    grants: DirectoryGrants
    memberships: MembershipChanges


def claim_groups(claims: dict[str, Any], *, claim: str) -> list[str]:
    """The groups in a claim: a list of strings, or one string (a provider's way of sending a single group)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [group for group in value if isinstance(group, str)]
    return []


def _email_verified(claims: dict[str, Any]) -> bool:
    # Some providers send the boolean as a string.
    return claims.get("email_verified") in (True, "true")


def _linked_user(claims: dict[str, Any]) -> AbstractUser | None:
    """An existing user to link a first sign-in to: one with the same email, when the provider vouches
    for the email (`email_verified`) and the user is not linked to another subject yet. Without the
    provider's word an email proves nothing (Entra ID lets a tenant set any address)."""
    email = claims.get("email")
    if not email or not _email_verified(claims):
        return None
    users = list(
        get_user_model()
        .objects.filter(email__iexact=email, directory_identity__isnull=True)
        .select_for_update(of=("self",))[:2]
    )
    return users[0] if len(users) == 1 else None


def _free_username(wanted: str) -> str:
    User = get_user_model()
    wanted = wanted[:USERNAME_MAX]
    candidate, n = wanted, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        suffix = f"-{n}"
        candidate = wanted[: USERNAME_MAX - len(suffix)] + suffix
    return candidate


def _new_user(claims: dict[str, Any]) -> AbstractUser:
    """A user without a local password: they sign in through the provider only."""
    wanted = claims.get("preferred_username") or claims.get("email") or claims["sub"]
    return get_user_model().objects.create_user(_free_username(str(wanted)), email=claims.get("email") or "")


def _profile_update(user: AbstractUser, claims: dict[str, Any]) -> None:
    for field, claim in (("email", "email"), ("first_name", "given_name"), ("last_name", "family_name")):
        value = claims.get(claim)
        if isinstance(value, str) and value:
            setattr(user, field, value[: user._meta.get_field(field).max_length])


def _grants_outside_teams_apply(user: AbstractUser, identity: DirectoryIdentity, grants: DirectoryGrants) -> None:
    """Staff and finance follow the groups too, but only where the directory gave them: a flag or a
    group membership an admin set by hand is left alone."""
    if grants.staff and not user.is_staff:
        user.is_staff = identity.granted_staff = True
    elif not grants.staff and identity.granted_staff:
        user.is_staff = identity.granted_staff = False
    finance, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    in_finance = user.groups.filter(pk=finance.pk).exists()
    if grants.finance and not in_finance:
        user.groups.add(finance)
        identity.granted_finance = True
    elif not grants.finance and identity.granted_finance:
        user.groups.remove(finance)
        identity.granted_finance = False


@transaction.atomic
def directory_sign_in(*, issuer: str, claims: dict[str, Any], groups: list[str]) -> SignIn:
    """The user for these verified claims, with memberships, staff and finance following `groups`.

    Two sign-ins of one person are serialised on their user row, so their syncs cannot interleave.
    """
    identity = DirectoryIdentity.objects.filter(issuer=issuer, subject=claims["sub"]).first()
    if identity is not None:
        user = get_user_model().objects.select_for_update().get(pk=identity.user_id)
    else:
        user = _linked_user(claims) or _new_user(claims)
        identity = DirectoryIdentity(user=user, issuer=issuer, subject=claims["sub"])
    _profile_update(user, claims)
    grants = directory_grants(groups=groups)
    memberships = directory_memberships_sync(user=user, teams=grants.teams)
    _grants_outside_teams_apply(user, identity, grants)
    user.save()
    identity.user = user
    identity.groups = sorted(set(groups))
    identity.signed_in_at = timezone.now()
    identity.save()
    return SignIn(user=user, grants=grants, memberships=memberships)
