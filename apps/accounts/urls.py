"""Sign-in URLs. The callback is /oidc/callback/: the redirect URI to register with the provider."""

from django.urls import path

from . import views

urlpatterns = [
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("accounts/no-team/", views.no_team, name="no_team"),
    path("oidc/authenticate/", views.SignInStartView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", views.SignInCallbackView.as_view(), name="oidc_authentication_callback"),
]
