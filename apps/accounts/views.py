"""Sign-in pages: the login page (provider first, when configured), the provider's round trip, sign-out,
and the page of a person whose groups give them no team."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from apps.org.selectors import teams_visible_to

from .models import DirectoryIdentity
from .provider import ProviderUnavailable, library_setting, provider_configuration

logger = logging.getLogger(__name__)


def _refused(request, message: str, *, status: int = 400):
    logger.warning("Sign-in through the identity provider refused: %s", message)
    return render(request, "registration/sign_in_refused.html", {"message": message}, status=status)


class SignInView(auth_views.LoginView):
    """The login page: the provider's button first when OIDC_ISSUER is set, local passwords beneath it."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.OIDC_ISSUER:
            context["provider_name"] = settings.OIDC_PROVIDER_NAME
        return context


class SignInStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider with a fresh state, nonce and PKCE challenge (kept in the session)."""

    get_settings = staticmethod(library_setting)

    def __init__(self, *args, **kwargs):
        # The base reads the endpoints at construction; they come from discovery, at request time.
        View.__init__(self, *args, **kwargs)

    OIDC_OP_AUTH_ENDPOINT = property(lambda self: provider_configuration().authorization_endpoint)
    OIDC_RP_CLIENT_ID = property(lambda self: settings.OIDC_CLIENT_ID)

    def get(self, request):
        if not settings.OIDC_ISSUER:
            raise Http404("Sign-in through an identity provider is not configured.")
        try:
            return super().get(request)
        except ProviderUnavailable as exc:
            return _refused(request, str(exc), status=502)


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: state checked and spent, code exchanged (with the PKCE
    verifier), ID token verified, groups applied; any failure is a page saying which check failed."""

    get_settings = staticmethod(library_setting)

    def get(self, request):
        if not settings.OIDC_ISSUER:
            raise Http404("Sign-in through an identity provider is not configured.")
        if "code" in request.GET and request.GET.get("state") not in request.session.get("oidc_states", {}):
            return _refused(
                request,
                "This sign-in's state is unknown here or was already used (a replayed or forged callback). "
                "Start again from the login page.",
            )
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            return _refused(request, str(exc))
        except ProviderUnavailable as exc:
            return _refused(request, str(exc), status=502)
        except requests.HTTPError as exc:
            body = exc.response.text[:300] if exc.response is not None else ""
            return _refused(request, f"The identity provider refused to complete the sign-in: {body}")
        except requests.RequestException as exc:
            return _refused(request, f"The identity provider could not be reached: {exc}", status=502)

    def login_failure(self):
        request = self.request
        user = getattr(self, "user", None)
        if getattr(request, "sign_in_refused", None):
            message = request.sign_in_refused
        elif request.GET.get("error"):
            # Shown as sent (escaped), cut short: anyone can craft this URL.
            described = request.GET.get("error_description", "")[:200]
            message = f"The identity provider did not sign you in: {request.GET['error'][:100]}" + (
                f" ({described})" if described else ""
            )
        elif user is not None and not user.is_active:
            message = f"The account {user.username} is disabled here; ask an admin."
        else:
            message = "The sign-in did not complete. Start again from the login page."
        return _refused(request, message)

    def login_success(self):
        response = super().login_success()
        # Memberships follow the groups at each sign-in: a bounded session bounds how stale they get.
        self.request.session.set_expiry(settings.OIDC_SESSION_HOURS * 3600)
        return response

    @property
    def success_url(self) -> str:
        if not teams_visible_to(self.user).exists():
            return reverse("no_team")
        return super().success_url


def _provider_sign_out_url(request) -> str:
    """RP-initiated logout at the provider's end_session_endpoint, when it has one and this session
    came from it; read before the local session is flushed."""
    id_token = request.session.get("oidc_id_token")
    if not (settings.OIDC_ISSUER and id_token):
        return ""
    try:
        endpoint = provider_configuration().end_session_endpoint
    except ProviderUnavailable as exc:
        logger.warning("Signed out here only: %s", exc)
        return ""
    if not endpoint:
        return ""
    params = {
        "id_token_hint": id_token,
        "client_id": settings.OIDC_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL)),
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


class SignOutView(auth_views.LogoutView):
    """Ends the local session, then the provider's where it offers RP-initiated logout."""

    def post(self, request, *args, **kwargs):
        provider_url = _provider_sign_out_url(request)
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(provider_url) if provider_url else response


@login_required
def no_team(request):
    """Where a person lands whose directory groups give them no team: what was sent, and whom to ask."""
    identity = DirectoryIdentity.objects.filter(user=request.user).first()
    context = {"identity": identity, "has_team": teams_visible_to(request.user).exists()}
    return render(request, "registration/no_team.html", context)
