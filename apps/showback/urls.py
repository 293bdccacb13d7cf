"""Showback page routes."""

from django.urls import path

from . import views

app_name = "showback"
urlpatterns = [
    path("", views.home, name="home"),
    path("overview/", views.overview, name="overview"),
    path("teams/<slug:slug>/", views.team_page, name="team"),
    path("teams/<slug:slug>/statement.csv", views.team_statement_csv, name="team-statement"),
]
