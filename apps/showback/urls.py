"""Showback page routes."""

from django.urls import path

from . import commitment_views, month_close_views, views
from .focus_api import FocusExportApi

app_name = "showback"
urlpatterns = [
    path("", views.home, name="home"),
    path("overview/", views.overview, name="overview"),
    path("overview/close/", month_close_views.month_close_view, name="month-close"),
    path("overview/commitment/", commitment_views.commitment_brief, name="commitment"),
    path("overview/commitment.csv", commitment_views.commitment_csv, name="commitment-csv"),
    path("overview/reopen/", month_close_views.month_reopen_view, name="month-reopen"),
    path("overview/scopes/map/", views.scope_map_view, name="scope-map"),
    path("overview.csv", views.overview_csv, name="overview-csv"),
    path("teams/<slug:slug>/", views.team_page, name="team"),
    path("teams/<slug:slug>/statement.csv", views.team_statement_csv, name="team-statement"),
    path("teams/<slug:slug>/alerts/", views.team_alerts, name="team-alerts"),
    path("anomalies/<int:pk>/acknowledge/", views.anomaly_acknowledge_view, name="anomaly-acknowledge"),
    path("api/v1/focus.csv", FocusExportApi.as_view(), name="focus-csv"),
]
